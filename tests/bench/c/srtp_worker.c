/* SPDX-License-Identifier: MIT
 *
 * srtp_worker: Debian's libsrtp2 (libsrtp2-dev, 2.5) protecting RTP
 * packets as fast as it can, for nicebench's "srtp" test beside gonice's
 * and pion/srtp/v2's protect (tests/bench/README.md).
 *
 *   srtp_worker srtp --profile aes-cm-80|aes-cm-32|gcm-128|gcm-256 --size 1200
 *                    --seconds 3 --warmup 0.2
 *
 * One thread protects one SSRC's packets (12-byte header and size-12 bytes
 * of payload, the sequence number advancing) in place, copying the clear
 * packet into the buffer first, as a media server's send path does.
 * Output: {"protected":N,"seconds":S,"cpu_s":C}
 */
#include "common.h"

#include <srtp2/srtp.h>

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "srtp") != 0) NB_DIE("usage: srtp_worker srtp --profile P ...");
    const char *profile = nb_opt(argc, argv, "--profile", "aes-cm-80");
    int size = (int)nb_optf(argc, argv, "--size", 1200);
    double seconds = nb_optf(argc, argv, "--seconds", 3), warmup = nb_optf(argc, argv, "--warmup", 0.2);
    if (size < 12 || size > 1500) NB_DIE("--size %d: 12 to 1500", size);

    if (srtp_init() != srtp_err_status_ok) NB_DIE("srtp_init failed");
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    size_t keylen;
    if (strcmp(profile, "aes-cm-80") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        keylen = 16 + 14;
    } else if (strcmp(profile, "aes-cm-32") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        keylen = 16 + 14;
    } else if (strcmp(profile, "gcm-128") == 0) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        keylen = 16 + 12;
    } else if (strcmp(profile, "gcm-256") == 0) {
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
        keylen = 32 + 12;
    } else {
        NB_DIE("--profile %s: aes-cm-80, aes-cm-32, gcm-128 or gcm-256", profile);
    }
    unsigned char key[64];
    for (size_t i = 0; i < keylen; i++) key[i] = (unsigned char)(i * 7 + 1);
    policy.key = key;
    policy.ssrc.type = ssrc_any_outbound;
    policy.window_size = 128;
    policy.allow_repeat_tx = 0;
    srtp_t session;
    srtp_err_status_t st = srtp_create(&session, &policy);
    if (st != srtp_err_status_ok) NB_DIE("srtp_create (%s): error %d", profile, (int)st);

    unsigned char clear[1500], buf[1500 + SRTP_MAX_TRAILER_LEN];
    memset(clear, 0x5a, sizeof clear);
    clear[0] = 0x80;
    clear[1] = 96;
    clear[8] = 0x0a, clear[9] = 0x0b, clear[10] = 0x0c, clear[11] = 0x0d; /* SSRC */
    uint16_t seq = 0;
    int64_t start = nb_now_ns(), warm_end = start + (int64_t)(warmup * 1e9),
            end = warm_end + (int64_t)(seconds * 1e9);
    int64_t n = 0, n0 = 0, t0 = start, cpu0 = 0;
    int warm = 1;
    for (;;) {
        seq++;
        clear[2] = (unsigned char)(seq >> 8);
        clear[3] = (unsigned char)seq;
        memcpy(buf, clear, (size_t)size);
        int len = size;
        st = srtp_protect(session, buf, &len);
        if (st != srtp_err_status_ok) NB_DIE("srtp_protect: error %d", (int)st);
        n++;
        if ((n & 255) != 0) continue;
        int64_t now = nb_now_ns();
        if (warm && now >= warm_end) {
            warm = 0;
            n0 = n, t0 = now, cpu0 = nb_cpu_us();
        }
        if (!warm && now >= end) {
            printf("{\"protected\":%lld,\"seconds\":%.6f,\"cpu_s\":%.6f}\n", (long long)(n - n0),
                   (double)(now - t0) / 1e9, (double)(nb_cpu_us() - cpu0) / 1e6);
            break;
        }
    }
    srtp_dealloc(session);
    srtp_shutdown();
    return 0;
}
