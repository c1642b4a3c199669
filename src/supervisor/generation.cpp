// One start of the program (generation.hpp).
#include "generation.hpp"

namespace relive::supervisor {

Result<std::unique_ptr<Generation>> Generation::start(ChildSpec spec, std::unique_ptr<ReadinessWait> ready,
                                                      OutputSink sink) {
  auto gen = std::make_unique<Generation>();
  if (sink && spec.stdout_fd < 0 && spec.stderr_fd < 0) {
    // No pipe, no tail: the output then goes straight to relive's stdout/stderr.
    if (auto t = OutputTail::create(20)) {
      gen->tail = std::move(*t);
      gen->tail->forward_through(std::move(sink));
      spec.stdout_fd = gen->tail->child_stdout();
      spec.stderr_fd = gen->tail->child_stderr();
    }
  }
  auto c = Child::start(spec);
  if (gen->tail) gen->tail->close_child_ends();
  if (!c) return c.error();
  gen->child = std::move(*c);
  if (ready) {
    gen->ready = std::move(ready);
    gen->ready->start(gen->child->pid());
  }
  return gen;
}

}  // namespace relive::supervisor
