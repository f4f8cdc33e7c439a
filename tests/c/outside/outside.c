/* SPDX-License-Identifier: MIT */
/* outside.c: a program built against an installed gonice (pkg-config or
 * find_package): it creates an agent and a stream (which loads the core
 * installed beside libgonice.so) and frees it. */
#include <gonice.h>
#include <stdio.h>

int main(void) {
  GoniceAgent *agent;
  if (gonice_agent_new(&agent, 0) != 0)
    return 1;
  int sid = gonice_agent_add_stream(agent, 1);
  if (sid != 1 || gonice_agent_free(agent) != 0) {
    fprintf(stderr, "outside: %s\n", gonice_last_error());
    return 1;
  }
  printf("ok: outside program, gonice %d\n", gonice_version(NULL, NULL, NULL));
  return 0;
}
