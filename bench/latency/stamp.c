/* The benchmark's child: appends its start time (CLOCK_MONOTONIC, ns) to $STAMP_FILE in
 * one write, then waits to be stopped (or exits at once with STAMP_EXIT=1, for tools that
 * run a command per change instead of restarting one). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const char* path = getenv("STAMP_FILE");
  if (!path) return 2;
  char line[64];
  int n = snprintf(line, sizeof line, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, (size_t)n) != n) return 2;
  close(fd);
  const char* exit_now = getenv("STAMP_EXIT");
  if (exit_now && strcmp(exit_now, "1") == 0) return 0;
  for (;;) pause();
}
