/* The latency floor: one inotify watch on a directory; every close-after-write or
 * rename-into of FILE kills the child (SIGKILL) and forks it again. No coalescing, no
 * process-tree handling, no ignore rules: the least any restart-on-change tool can do.
 * Usage: floor DIR FILE -- CMD [ARGS...] */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t start(char** argv) {
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

int main(int argc, char** argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: floor DIR FILE -- CMD [ARGS...]\n");
    return 2;
  }
  const char* file = argv[2];
  int fd = inotify_init1(IN_CLOEXEC);
  if (fd < 0 || inotify_add_watch(fd, argv[1], IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    perror("inotify");
    return 1;
  }
  pid_t child = start(argv + 4);
  char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      struct inotify_event* e = (struct inotify_event*)p;
      if (e->len && strcmp(e->name, file) == 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = start(argv + 4);
      }
      p += sizeof *e + e->len;
    }
  }
  return 0;
}
