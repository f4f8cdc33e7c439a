/* SPDX-License-Identifier: MIT */
/*
 * test_functions: prints the functions of capi/functions.h, one name a line.
 * Compiling it checks that gonice.h declares each, linking that libgonice
 * defines each; cmake/check_functions.cmake then holds the names equal to
 * those gonice.h declares and libgonice.so exports.
 */
#include <stdio.h>

#include "gonice.h"

#define NAME(name) {#name, (void (*)(void))name},
#define GONICE_FN(name, params, entry, args, checks) NAME(name)
#define GONICE_CONN_FN(name, params, entry, args, checks) NAME(name)
#define GONICE_MUX_FN(name, params, entry, args, checks) NAME(name)
#define GONICE_OWN(name) NAME(name)
static const struct {
  const char *name;
  void (*fn)(void);
} functions[] = {
#include "functions.h"
};

int main(void) {
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
    if (functions[i].fn == NULL || printf("%s\n", functions[i].name) < 0)
      return 1;
  return 0;
}
