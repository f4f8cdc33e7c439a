/* SPDX-License-Identifier: MIT */
/*
 * sdp: a re-implementation of libnice's examples/sdp-example.c (libnice
 * 0.1.21; Debian's libnice-dev does not ship the examples), for the interop
 * test of "examples/sendrecv --sdp" (tests/libnice_examples_test.go). Like
 * the original it sets the agent up on an "example thread" while the main
 * thread runs the GMainLoop, makes the same libnice calls and prints the
 * same text on stdout, byte for byte:
 *
 *   sdp 0|1 [stun_addr [stun_port]]
 *
 *   "Generated SDP from agent :\n<nice_agent_generate_local_sdp()>\n\n"
 *   "Copy the following line to remote client:\n\n  <base64 of the SDP>\n"
 *   "Enter remote data (single line, no wrapping):\n> "
 *   reads one base64 line, decodes it and gives it to
 *       nice_agent_parse_remote_sdp(), which must add at least one
 *       candidate (else "ERROR: failed to parse remote data" on stderr and
 *       the prompt again); the stream is named "text"; ICE-TCP stays on
 *   at READY: "\nSend lines to remote (Ctrl-D to quit):\n> "
 *   then sends every stdin line with its "\n" and prints "> "; prints what
 *   it receives as it is; a lone NUL byte received ends it; end of input
 *   sends a lone NUL byte and ends it; FAILED ends it. Exit status 0.
 *
 * Build: gcc -Wall -Wextra -Werror -o sdp sdp.c \
 *            $(pkg-config --cflags --libs nice)
 *
 * Deliberate differences from sdp-example.c, none visible on stdout:
 *   - the agent's upnp property is FALSE (no 200 ms UPnP wait);
 *   - EXAMPLE_LOCAL_ADDRESS, if set, restricts host candidates to that IP
 *     (nice_agent_add_local_address);
 *   - end of input before the remote data was read ends the program (the
 *     original loops on G_IO_STATUS_EOF there without sleeping, forever);
 *   - the flags shared between the two threads are accessed atomically.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent.h>
#include <gio/gnetworking.h>

static GMainLoop *gloop;
static gchar *stun_addr = NULL;
static guint stun_port;
static gboolean controlling;
static gint exit_thread, candidate_gathering_done, negotiation_done;
static GMutex gather_mutex, negotiate_mutex;
static GCond gather_cond, negotiate_cond;

static const gchar *state_name[] = {"disconnected", "gathering",
    "connecting", "connected", "ready", "failed"};

static void cb_candidate_gathering_done(NiceAgent *agent, guint stream_id,
    gpointer data);
static void cb_component_state_changed(NiceAgent *agent, guint stream_id,
    guint component_id, guint state, gpointer data);
static void cb_nice_recv(NiceAgent *agent, guint stream_id,
    guint component_id, guint len, gchar *buf, gpointer data);
static gpointer example_thread(gpointer data);

int
main(int argc, char *argv[])
{
  GThread *gexamplethread;

  if (argc > 4 || argc < 2 || argv[1][1] != '\0') {
    fprintf(stderr, "Usage: %s 0|1 stun_addr [stun_port]\n", argv[0]);
    return EXIT_FAILURE;
  }
  controlling = argv[1][0] - '0';
  if (controlling != 0 && controlling != 1) {
    fprintf(stderr, "Usage: %s 0|1 stun_addr [stun_port]\n", argv[0]);
    return EXIT_FAILURE;
  }
  if (argc > 2) {
    stun_addr = argv[2];
    stun_port = argc > 3 ? (guint)atoi(argv[3]) : 3478;
    g_debug("Using stun server '[%s]:%u'\n", stun_addr, stun_port);
  }

  g_networking_init();

  gloop = g_main_loop_new(NULL, FALSE);

  g_atomic_int_set(&exit_thread, FALSE);
  gexamplethread = g_thread_new("example thread", example_thread, NULL);
  g_main_loop_run(gloop);
  g_atomic_int_set(&exit_thread, TRUE);
  /* Wake the example thread if it waits on a condition. */
  g_mutex_lock(&gather_mutex);
  g_cond_signal(&gather_cond);
  g_mutex_unlock(&gather_mutex);
  g_mutex_lock(&negotiate_mutex);
  g_cond_signal(&negotiate_cond);
  g_mutex_unlock(&negotiate_mutex);

  g_thread_join(gexamplethread);
  g_main_loop_unref(gloop);

  return EXIT_SUCCESS;
}

static gpointer
example_thread(gpointer data)
{
  NiceAgent *agent;
  GIOChannel *io_stdin;
  guint stream_id;
  gchar *line = NULL;
  gchar *sdp, *sdp64;
  const gchar *local_address = g_getenv("EXAMPLE_LOCAL_ADDRESS");

  (void)data;
  io_stdin = g_io_channel_unix_new(fileno(stdin));
  g_io_channel_set_flags(io_stdin, G_IO_FLAG_NONBLOCK, NULL);

  agent = nice_agent_new(g_main_loop_get_context(gloop),
      NICE_COMPATIBILITY_RFC5245);
  if (agent == NULL)
    g_error("Failed to create agent");

  if (stun_addr) {
    g_object_set(agent, "stun-server", stun_addr, NULL);
    g_object_set(agent, "stun-server-port", stun_port, NULL);
  }
  g_object_set(agent, "controlling-mode", controlling, NULL);
  g_object_set(agent, "upnp", FALSE, NULL);
  if (local_address != NULL && *local_address != '\0') {
    NiceAddress addr;

    nice_address_init(&addr);
    if (!nice_address_set_from_string(&addr, local_address) ||
        !nice_agent_add_local_address(agent, &addr))
      g_error("Bad EXAMPLE_LOCAL_ADDRESS %s", local_address);
  }

  g_signal_connect(agent, "candidate-gathering-done",
      G_CALLBACK(cb_candidate_gathering_done), NULL);
  g_signal_connect(agent, "component-state-changed",
      G_CALLBACK(cb_component_state_changed), NULL);

  stream_id = nice_agent_add_stream(agent, 1);
  if (stream_id == 0)
    g_error("Failed to add stream");
  nice_agent_set_stream_name(agent, stream_id, "text");

  nice_agent_attach_recv(agent, stream_id, 1,
      g_main_loop_get_context(gloop), cb_nice_recv, NULL);

  if (!nice_agent_gather_candidates(agent, stream_id))
    g_error("Failed to start candidate gathering");

  g_debug("waiting for candidate-gathering-done signal...");

  g_mutex_lock(&gather_mutex);
  while (!g_atomic_int_get(&exit_thread) &&
      !g_atomic_int_get(&candidate_gathering_done))
    g_cond_wait(&gather_cond, &gather_mutex);
  g_mutex_unlock(&gather_mutex);
  if (g_atomic_int_get(&exit_thread))
    goto end;

  sdp = nice_agent_generate_local_sdp(agent);
  printf("Generated SDP from agent :\n%s\n\n", sdp);
  printf("Copy the following line to remote client:\n");
  sdp64 = g_base64_encode((const guchar *)sdp, strlen(sdp));
  printf("\n  %s\n", sdp64);
  g_free(sdp);
  g_free(sdp64);

  printf("Enter remote data (single line, no wrapping):\n");
  printf("> ");
  fflush(stdout);
  while (!g_atomic_int_get(&exit_thread)) {
    GIOStatus s = g_io_channel_read_line(io_stdin, &line, NULL, NULL, NULL);

    if (s == G_IO_STATUS_NORMAL) {
      gsize sdp_len;

      sdp = (gchar *)g_base64_decode(line, &sdp_len);
      if (sdp && nice_agent_parse_remote_sdp(agent, sdp) > 0) {
        g_free(sdp);
        g_free(line);
        break;
      } else {
        fprintf(stderr, "ERROR: failed to parse remote data\n");
        printf("Enter remote data (single line, no wrapping):\n");
        printf("> ");
        fflush(stdout);
      }
      g_free(sdp);
      g_free(line);
    } else if (s == G_IO_STATUS_AGAIN) {
      g_usleep(100000);
    } else {
      /* Not in sdp-example, which would spin here (see the top). */
      goto end;
    }
  }

  g_debug("waiting for state READY or FAILED signal...");
  g_mutex_lock(&negotiate_mutex);
  while (!g_atomic_int_get(&exit_thread) &&
      !g_atomic_int_get(&negotiation_done))
    g_cond_wait(&negotiate_cond, &negotiate_mutex);
  g_mutex_unlock(&negotiate_mutex);
  if (g_atomic_int_get(&exit_thread))
    goto end;

  printf("\nSend lines to remote (Ctrl-D to quit):\n");
  printf("> ");
  fflush(stdout);
  while (!g_atomic_int_get(&exit_thread)) {
    GIOStatus s = g_io_channel_read_line(io_stdin, &line, NULL, NULL, NULL);

    if (s == G_IO_STATUS_NORMAL) {
      nice_agent_send(agent, stream_id, 1, strlen(line), line);
      g_free(line);
      printf("> ");
      fflush(stdout);
    } else if (s == G_IO_STATUS_AGAIN) {
      g_usleep(100000);
    } else {
      /* Ctrl-D, or the end of the pipe. */
      nice_agent_send(agent, stream_id, 1, 1, "\0");
      break;
    }
  }

end:
  g_object_unref(agent);
  g_io_channel_unref(io_stdin);
  g_main_loop_quit(gloop);

  return NULL;
}

static void
cb_candidate_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
  (void)agent;
  (void)stream_id;
  (void)data;
  g_debug("SIGNAL candidate gathering done\n");

  g_mutex_lock(&gather_mutex);
  g_atomic_int_set(&candidate_gathering_done, TRUE);
  g_cond_signal(&gather_cond);
  g_mutex_unlock(&gather_mutex);
}

static void
cb_component_state_changed(NiceAgent *agent, guint stream_id,
    guint component_id, guint state, gpointer data)
{
  (void)agent;
  (void)data;
  g_debug("SIGNAL: state changed %d %d %s[%d]\n",
      stream_id, component_id, state_name[state], state);

  if (state == NICE_COMPONENT_STATE_READY) {
    g_mutex_lock(&negotiate_mutex);
    g_atomic_int_set(&negotiation_done, TRUE);
    g_cond_signal(&negotiate_cond);
    g_mutex_unlock(&negotiate_mutex);
  } else if (state == NICE_COMPONENT_STATE_FAILED) {
    g_main_loop_quit(gloop);
  }
}

static void
cb_nice_recv(NiceAgent *agent, guint stream_id, guint component_id,
    guint len, gchar *buf, gpointer data)
{
  (void)agent;
  (void)stream_id;
  (void)component_id;
  (void)data;
  if (len == 1 && buf[0] == '\0')
    g_main_loop_quit(gloop);
  printf("%.*s", len, buf);
  fflush(stdout);
}
