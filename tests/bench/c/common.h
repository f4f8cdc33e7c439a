/* SPDX-License-Identifier: MIT */
/* Shared helpers of the C benchmark workers (tests/bench/c): clocks, process
 * counters and option parsing. Each worker prints one JSON object on stdout;
 * diagnostics go to stderr. */
#ifndef NICEBENCH_COMMON_H
#define NICEBENCH_COMMON_H

#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* nb_now_ns is CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t nb_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* nb_cpu_us is the process's user + system CPU time in microseconds. */
static inline int64_t nb_cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* nb_rss_kb is the resident set size from /proc/self/statm. */
static inline long nb_rss_kb(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* nb_count_dir counts the entries of a /proc directory (fd, task). */
static inline int nb_count_dir(const char *path) {
    DIR *d = opendir(path);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* nb_rcvbuf_errors is the kernel's Udp RcvbufErrors counter (all sockets). */
static inline long long nb_rcvbuf_errors(void) {
    FILE *f = fopen("/proc/net/snmp", "r");
    if (f == NULL) return -1;
    char head[1024], vals[1024];
    long long out = -1;
    while (fgets(head, sizeof head, f) != NULL) {
        if (strncmp(head, "Udp:", 4) != 0) continue;
        if (fgets(vals, sizeof vals, f) == NULL) break;
        int col = -1, i = 0;
        for (char *s = NULL, *t = strtok_r(head, " \n", &s); t; t = strtok_r(NULL, " \n", &s), i++)
            if (strcmp(t, "RcvbufErrors") == 0) col = i;
        i = 0;
        for (char *s = NULL, *t = strtok_r(vals, " \n", &s); t; t = strtok_r(NULL, " \n", &s), i++)
            if (i == col) out = atoll(t);
        break;
    }
    fclose(f);
    return out;
}

/* nb_opt returns the value after "--name" in argv, or def. */
static inline const char *nb_opt(int argc, char **argv, const char *name, const char *def) {
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

static inline double nb_optf(int argc, char **argv, const char *name, double def) {
    const char *v = nb_opt(argc, argv, name, NULL);
    return v ? atof(v) : def;
}

/* nb_sleep_s sleeps for s seconds (fractions allowed). */
static inline void nb_sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

#define NB_DIE(...)                                                                                \
    do {                                                                                           \
        fprintf(stderr, "nicebench: " __VA_ARGS__);                                                \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

#endif
