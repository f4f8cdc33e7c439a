/* SPDX-License-Identifier: MIT */
/* test_header: gonice.h compiles alone as strict C99 (-pedantic) and links. */
#include "gonice.h"
#include "gonice.h" /* include guard */

int main(void) {
  GoniceCandidate c = {0};
  gonice_agent_recv_cb cb = 0;
  (void)cb;
  c.type = GONICE_CANDIDATE_TYPE_HOST;
  return gonice_version(0, 0, 0) >= 0 && c.port == 0 ? 0 : 1;
}
