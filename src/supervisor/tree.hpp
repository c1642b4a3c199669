// Internal: which processes make up a child's tree, and reaping (internal to the supervisor
// part; TreeStop and the Supervisor use these, tests call them directly).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <vector>

#include "relive/supervisor.hpp"

namespace relive::supervisor {

// The processes that belong to a child's tree right now: every process in its process
// group, every descendant of its main process, and every orphan re-parented to this
// process (the subreaper) that started after the child and before any newer generation
// in `newer_generations_start_ticks` — with all their descendants. Reads /proc.
struct TreeMember {
  pid_t pid;
  pid_t ppid;
  bool zombie;
  unsigned long long start_ticks;
  pid_t pgid = 0;
};
std::vector<TreeMember> find_tree(const Child& child, const std::vector<pid_t>& exclude_roots,
                                  std::optional<unsigned long long> newer_generation_ticks = {});
// Every descendant of this process (for the final shutdown: nothing may be left).
std::vector<TreeMember> find_all_descendants();

// Reaps every exited child of this process except those in `keep` (the leaders of
// generations whose zombie must hold their pid and group id until their stop is done);
// calls `on_reaped(pid, status)` for each. Returns how many were reaped.
int reap_children(const std::function<void(pid_t, ExitStatus)>& on_reaped, const std::vector<pid_t>& keep = {});

}  // namespace relive::supervisor
