/* SPDX-License-Identifier: MIT */
/* test_version: the header's GONICE_VERSION_* macros equal gonice_version(). */
#include <stdio.h>

#include "gonice.h"

int main(void) {
  int major = -1, minor = -1, patch = -1;
  int v = gonice_version(&major, &minor, &patch);
  if (major != GONICE_VERSION_MAJOR || minor != GONICE_VERSION_MINOR ||
      patch != GONICE_VERSION_PATCH ||
      v != GONICE_VERSION_MAJOR * 10000 + GONICE_VERSION_MINOR * 100 + GONICE_VERSION_PATCH ||
      !GONICE_VERSION_CHECK(GONICE_VERSION_MAJOR, GONICE_VERSION_MINOR, GONICE_VERSION_PATCH) ||
      GONICE_VERSION_CHECK(GONICE_VERSION_MAJOR + 1, 0, 0)) {
    fprintf(stderr, "header %d.%d.%d, library %d.%d.%d (%d)\n", GONICE_VERSION_MAJOR,
            GONICE_VERSION_MINOR, GONICE_VERSION_PATCH, major, minor, patch, v);
    return 1;
  }
  if (gonice_version(NULL, NULL, NULL) != v)
    return 1;
  printf("ok: version %d.%d.%d\n", major, minor, patch);
  return 0;
}
