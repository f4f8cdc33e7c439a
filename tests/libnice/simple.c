/* SPDX-License-Identifier: MIT */
/*
 * simple: a re-implementation of libnice's examples/simple-example.c
 * (libnice 0.1.21; Debian's libnice-dev does not ship the examples), for
 * the interop test of examples/sendrecv (tests/libnice_examples_test.go).
 * It makes the same libnice calls in the same order and prints the same
 * text on stdout, byte for byte:
 *
 *   simple 0|1 [stun_addr [stun_port]]
 *
 *   "Copy this line to remote client:\n\n  <ufrag> <pwd> <cand>...\n\n"
 *   "Enter remote data (single line, no wrapping):\n> "
 *       each <cand> is foundation,priority,ip,port,type of every local
 *       candidate of component 1, TCP ones included (ICE-TCP stays on, as
 *       in simple-example; a TCP-active candidate prints port 0)
 *   reads one line "<ufrag> <pwd> <cand>..." (bad line: "ERROR: failed to
 *       parse remote data" on stderr and the prompt again), every <cand>
 *       becoming a UDP candidate of component 1
 *   at CONNECTED: "\nNegotiation complete: ([ip]:port, [ip]:port)\n"
 *       "\nSend lines to remote (Ctrl-D to quit):\n> "
 *   then sends every stdin line with its "\n" and prints "> "; prints what
 *   it receives as it is; a lone NUL byte received ends it; end of input
 *   sends a lone NUL byte and ends it; FAILED ends it. Exit status 0.
 *
 * Build: gcc -Wall -Wextra -Werror -o simple simple.c \
 *            $(pkg-config --cflags --libs nice)
 *
 * Deliberate differences from simple-example.c, none visible on stdout:
 *   - the agent's upnp property is FALSE (no 200 ms UPnP wait);
 *   - if the environment variable EXAMPLE_LOCAL_ADDRESS holds an IP
 *     address, host candidates are gathered on it only
 *     (nice_agent_add_local_address), so that a test can keep both peers
 *     on 127.0.0.1; without it every interface is used, as in the original;
 *   - the stdin watches also wake up on G_IO_HUP. simple-example watches
 *     G_IO_IN only, so when its stdin is a pipe whose writer closed, poll()
 *     reports POLLHUP, the watch never runs and the process spins forever.
 *     Here the end of a pipe acts as Ctrl-D does on a terminal: before the
 *     remote data was read the program ends, afterwards it sends the NUL
 *     byte and ends (simple-example's own Ctrl-D path).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <agent.h>
#include <gio/gnetworking.h>

static GMainLoop *gloop;
static GIOChannel *io_stdin;
static guint stream_id;

static const gchar *candidate_type_name[] = {"host", "srflx", "prflx",
    "relay"};

static const gchar *state_name[] = {"disconnected", "gathering",
    "connecting", "connected", "ready", "failed"};

static int print_local_data(NiceAgent *agent, guint stream_id,
    guint component_id);
static int parse_remote_data(NiceAgent *agent, guint stream_id,
    guint component_id, char *line);
static void cb_candidate_gathering_done(NiceAgent *agent, guint stream_id,
    gpointer data);
static void cb_new_selected_pair(NiceAgent *agent, guint stream_id,
    guint component_id, gchar *lfoundation, gchar *rfoundation,
    gpointer data);
static void cb_component_state_changed(NiceAgent *agent, guint stream_id,
    guint component_id, guint state, gpointer data);
static void cb_nice_recv(NiceAgent *agent, guint stream_id,
    guint component_id, guint len, gchar *buf, gpointer data);
static gboolean stdin_remote_info_cb(GIOChannel *source, GIOCondition cond,
    gpointer data);
static gboolean stdin_send_data_cb(GIOChannel *source, GIOCondition cond,
    gpointer data);

int
main(int argc, char *argv[])
{
  NiceAgent *agent;
  gchar *stun_addr = NULL;
  guint stun_port = 0;
  gboolean controlling;
  const gchar *local_address = g_getenv("EXAMPLE_LOCAL_ADDRESS");

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
  io_stdin = g_io_channel_unix_new(fileno(stdin));

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
  g_signal_connect(agent, "new-selected-pair",
      G_CALLBACK(cb_new_selected_pair), NULL);
  g_signal_connect(agent, "component-state-changed",
      G_CALLBACK(cb_component_state_changed), NULL);

  stream_id = nice_agent_add_stream(agent, 1);
  if (stream_id == 0)
    g_error("Failed to add stream");

  nice_agent_attach_recv(agent, stream_id, 1,
      g_main_loop_get_context(gloop), cb_nice_recv, NULL);

  if (!nice_agent_gather_candidates(agent, stream_id))
    g_error("Failed to start candidate gathering");

  g_debug("waiting for candidate-gathering-done signal...");

  g_main_loop_run(gloop);

  g_main_loop_unref(gloop);
  g_object_unref(agent);
  g_io_channel_unref(io_stdin);

  return EXIT_SUCCESS;
}

static void
cb_candidate_gathering_done(NiceAgent *agent, guint _stream_id,
    gpointer data)
{
  (void)data;
  g_debug("SIGNAL candidate gathering done\n");

  printf("Copy this line to remote client:\n");
  printf("\n  ");
  print_local_data(agent, _stream_id, 1);
  printf("\n");

  printf("Enter remote data (single line, no wrapping):\n");
  g_io_add_watch(io_stdin, G_IO_IN | G_IO_HUP, stdin_remote_info_cb, agent);
  printf("> ");
  fflush(stdout);
}

static gboolean
stdin_remote_info_cb(GIOChannel *source, GIOCondition cond, gpointer data)
{
  NiceAgent *agent = data;
  gchar *line = NULL;
  gboolean ret = TRUE;
  GIOStatus status;

  (void)cond;
  status = g_io_channel_read_line(source, &line, NULL, NULL, NULL);
  if (status == G_IO_STATUS_NORMAL) {
    if (parse_remote_data(agent, stream_id, 1, line) == EXIT_SUCCESS) {
      /* Stop listening to stdin: the candidates were parsed. */
      ret = FALSE;
      g_debug("waiting for state READY or FAILED signal...");
    } else {
      fprintf(stderr, "ERROR: failed to parse remote data\n");
      printf("Enter remote data (single line, no wrapping):\n");
      printf("> ");
      fflush(stdout);
    }
    g_free(line);
  } else if (status == G_IO_STATUS_EOF || status == G_IO_STATUS_ERROR) {
    /* Not in simple-example, which would spin here (see the top). */
    g_main_loop_quit(gloop);
    ret = FALSE;
  }

  return ret;
}

static void
cb_component_state_changed(NiceAgent *agent, guint _stream_id,
    guint component_id, guint state, gpointer data)
{
  (void)data;
  g_debug("SIGNAL: state changed %d %d %s[%d]\n",
      _stream_id, component_id, state_name[state], state);

  if (state == NICE_COMPONENT_STATE_CONNECTED) {
    NiceCandidate *local, *remote;

    if (nice_agent_get_selected_pair(agent, _stream_id, component_id,
            &local, &remote)) {
      gchar ipaddr[INET6_ADDRSTRLEN];

      nice_address_to_string(&local->addr, ipaddr);
      printf("\nNegotiation complete: ([%s]:%d,",
          ipaddr, nice_address_get_port(&local->addr));
      nice_address_to_string(&remote->addr, ipaddr);
      printf(" [%s]:%d)\n", ipaddr, nice_address_get_port(&remote->addr));
    }

    printf("\nSend lines to remote (Ctrl-D to quit):\n");
    g_io_add_watch(io_stdin, G_IO_IN | G_IO_HUP, stdin_send_data_cb, agent);
    printf("> ");
    fflush(stdout);
  } else if (state == NICE_COMPONENT_STATE_FAILED) {
    g_main_loop_quit(gloop);
  }
}

static gboolean
stdin_send_data_cb(GIOChannel *source, GIOCondition cond, gpointer data)
{
  NiceAgent *agent = data;
  gchar *line = NULL;

  (void)cond;
  if (g_io_channel_read_line(source, &line, NULL, NULL, NULL) ==
      G_IO_STATUS_NORMAL) {
    nice_agent_send(agent, stream_id, 1, strlen(line), line);
    g_free(line);
    printf("> ");
    fflush(stdout);
  } else {
    /* Ctrl-D, or the end of the pipe. */
    nice_agent_send(agent, stream_id, 1, 1, "\0");
    g_main_loop_quit(gloop);
  }

  return TRUE;
}

static void
cb_new_selected_pair(NiceAgent *agent, guint _stream_id,
    guint component_id, gchar *lfoundation, gchar *rfoundation,
    gpointer data)
{
  (void)agent;
  (void)_stream_id;
  (void)component_id;
  (void)data;
  g_debug("SIGNAL: selected pair %s %s", lfoundation, rfoundation);
}

static void
cb_nice_recv(NiceAgent *agent, guint _stream_id, guint component_id,
    guint len, gchar *buf, gpointer data)
{
  (void)agent;
  (void)_stream_id;
  (void)component_id;
  (void)data;
  if (len == 1 && buf[0] == '\0')
    g_main_loop_quit(gloop);
  printf("%.*s", len, buf);
  fflush(stdout);
}

static NiceCandidate *
parse_candidate(char *scand, guint _stream_id)
{
  NiceCandidate *cand = NULL;
  NiceCandidateType ntype = NICE_CANDIDATE_TYPE_HOST;
  gchar **tokens = NULL;
  guint i;

  tokens = g_strsplit(scand, ",", 5);
  for (i = 0; tokens[i]; i++)
    ;
  if (i != 5)
    goto end;

  for (i = 0; i < G_N_ELEMENTS(candidate_type_name); i++) {
    if (strcmp(tokens[4], candidate_type_name[i]) == 0) {
      ntype = i;
      break;
    }
  }
  if (i == G_N_ELEMENTS(candidate_type_name))
    goto end;

  cand = nice_candidate_new(ntype);
  cand->component_id = 1;
  cand->stream_id = _stream_id;
  cand->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  strncpy(cand->foundation, tokens[0], NICE_CANDIDATE_MAX_FOUNDATION - 1);
  cand->foundation[NICE_CANDIDATE_MAX_FOUNDATION - 1] = 0;
  cand->priority = atoi(tokens[1]);

  if (!nice_address_set_from_string(&cand->addr, tokens[2])) {
    g_message("failed to parse addr: %s", tokens[2]);
    nice_candidate_free(cand);
    cand = NULL;
    goto end;
  }

  nice_address_set_port(&cand->addr, atoi(tokens[3]));

end:
  g_strfreev(tokens);

  return cand;
}

static int
print_local_data(NiceAgent *agent, guint _stream_id, guint component_id)
{
  int result = EXIT_FAILURE;
  gchar *local_ufrag = NULL;
  gchar *local_password = NULL;
  gchar ipaddr[INET6_ADDRSTRLEN];
  GSList *cands = NULL, *item;

  if (!nice_agent_get_local_credentials(agent, _stream_id,
          &local_ufrag, &local_password))
    goto end;

  cands = nice_agent_get_local_candidates(agent, _stream_id, component_id);
  if (cands == NULL)
    goto end;

  printf("%s %s", local_ufrag, local_password);

  for (item = cands; item; item = item->next) {
    NiceCandidate *c = (NiceCandidate *)item->data;

    nice_address_to_string(&c->addr, ipaddr);

    /* (foundation),(prio),(addr),(port),(type) */
    printf(" %s,%u,%s,%u,%s",
        c->foundation,
        c->priority,
        ipaddr,
        nice_address_get_port(&c->addr),
        candidate_type_name[c->type]);
  }
  printf("\n");
  result = EXIT_SUCCESS;

end:
  g_free(local_ufrag);
  g_free(local_password);
  if (cands)
    g_slist_free_full(cands, (GDestroyNotify)&nice_candidate_free);

  return result;
}

static int
parse_remote_data(NiceAgent *agent, guint _stream_id, guint component_id,
    char *line)
{
  GSList *remote_candidates = NULL;
  gchar **line_argv = NULL;
  const gchar *ufrag = NULL;
  const gchar *passwd = NULL;
  int result = EXIT_FAILURE;
  int i;

  line_argv = g_strsplit_set(line, " \t\n", 0);
  for (i = 0; line_argv && line_argv[i]; i++) {
    if (strlen(line_argv[i]) == 0)
      continue;

    /* The first two are the remote ufrag and password. */
    if (!ufrag) {
      ufrag = line_argv[i];
    } else if (!passwd) {
      passwd = line_argv[i];
    } else {
      /* The rest are candidates, at least one. */
      NiceCandidate *c = parse_candidate(line_argv[i], _stream_id);

      if (c == NULL) {
        g_message("failed to parse candidate: %s", line_argv[i]);
        goto end;
      }
      remote_candidates = g_slist_prepend(remote_candidates, c);
    }
  }
  if (ufrag == NULL || passwd == NULL || remote_candidates == NULL) {
    g_message("line must have at least ufrag, password, and one candidate");
    goto end;
  }

  if (!nice_agent_set_remote_credentials(agent, _stream_id, ufrag, passwd)) {
    g_message("failed to set remote credentials");
    goto end;
  }

  /* This starts the connectivity checks. */
  if (nice_agent_set_remote_candidates(agent, _stream_id, component_id,
          remote_candidates) < 1) {
    g_message("failed to set remote candidates");
    goto end;
  }

  result = EXIT_SUCCESS;

end:
  if (line_argv != NULL)
    g_strfreev(line_argv);
  if (remote_candidates != NULL)
    g_slist_free_full(remote_candidates, (GDestroyNotify)&nice_candidate_free);

  return result;
}
