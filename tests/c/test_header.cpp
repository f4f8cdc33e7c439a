// SPDX-License-Identifier: MIT
// test_header: gonice.h compiles as C++17 (extern "C", no C-only constructs) and links.
#include "gonice.h"

#include <cstdio>

static void on_recv(GoniceAgent *, unsigned int, unsigned int, unsigned int, char *, void *) {}

int main() {
  GoniceCandidate c{};
  c.type = GONICE_CANDIDATE_TYPE_RELAYED;
  gonice_agent_recv_cb cb = on_recv;
  (void)cb;
  GoniceOutputVector v{"x", 1};
  GoniceOutputMessage m{&v, 1};
  (void)m;
  std::printf("ok: C++ %s\n", gonice_strerror(GONICE_ENOTSUP));
  return gonice_version(nullptr, nullptr, nullptr) >= 0 && c.port == 0 ? 0 : 1;
}
