// --graceful's overlapped restart (overlap.hpp).
#include "overlap.hpp"

#include <utility>

namespace relive::supervisor {

Overlap::Overlap(EventLoop& loop, Tags tags, Options options, Hooks hooks)
    : loop_(loop), tags_(tags), opt_(std::move(options)), hooks_(std::move(hooks)) {}

std::optional<Overlap::Outcome> Overlap::start(pid_t serving, const SpecMaker& make_spec,
                                               const std::function<void(pid_t)>& started) {
  serving_ = serving;
  auto wait = ReadinessWait::create(opt_.ready, ReadyOptions{.timeout = opt_.ready_timeout});
  if (!wait) {
    hooks_.say(Status{.kind = Status::Kind::ReadinessFailed, .message = wait.error().message, .other_pid = serving});
    return std::nullopt;
  }
  ChildSpec spec = make_spec((*wait)->child_env());
  auto gen = Generation::start(std::move(spec), std::move(*wait), hooks_.output);
  started(gen ? (*gen)->pid() : 0);
  if (!gen) {
    hooks_.say(Status{.kind = Status::Kind::StartFailed, .message = gen.error().message, .other_pid = serving});
    hooks_.emit(Event{.kind = Event::Kind::Error, .message = gen.error().message});
    return std::nullopt;
  }
  next_ = std::move(*gen);
  loop_.add(next_->child->pidfd(), tags_.pidfd, true);
  loop_.add(next_->ready->fd(), tags_.ready);
  if (next_->tail) {
    for (int fd : next_->tail->fds()) loop_.add(fd, tags_.output_base + static_cast<uint64_t>(fd));
  }
  hooks_.emit(Event{.kind = Event::Kind::Start, .pid = next_->pid(), .message = opt_.command_text});
  hooks_.say(Status{.kind = Status::Kind::StartedBeside, .message = next_->ready->describe(), .pid = next_->pid(),
                    .other_pid = serving, .ms = opt_.ready_timeout});
  return check_ready();  // a delay:0 wait is ready at once
}

std::optional<Overlap::Outcome> Overlap::check_ready() {
  if (!next_ || !next_->ready) return std::nullopt;
  switch (next_->ready->process()) {
    case ReadinessWait::State::Waiting: return std::nullopt;
    case ReadinessWait::State::Ready: return promote();
    case ReadinessWait::State::Failed: return abandon(next_->ready->failure());
  }
  return std::nullopt;
}

std::optional<Overlap::Outcome> Overlap::check_exit() {
  if (!next_ || !next_->child->status()) return std::nullopt;
  auto status = *next_->child->status();
  hooks_.emit(Event{.kind = Event::Kind::Exit, .pid = next_->pid(), .status = status});
  return abandon(status.describe() + " before it was ready");
}

void Overlap::drop() {
  if (!next_) return;
  end_readiness_wait();
  keep_forwarding();
  loop_.remove(next_->child->pidfd());
  next_.reset();
}

Overlap::Outcome Overlap::promote() {
  hooks_.say(Status{.kind = Status::Kind::Ready, .pid = next_->pid(), .other_pid = serving_,
                    .ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_->ready->elapsed())});
  end_readiness_wait();
  keep_forwarding();
  return Outcome{.ready = true, .generation = std::move(next_)};
}

// Says why, with its last output: that was forwarded as it came, so it is right above —
// the message points at it rather than print it a second time.
Overlap::Outcome Overlap::abandon(const std::string& reason) {
  if (next_->tail) next_->tail->drain();
  bool said_something = next_->tail && !next_->tail->last_lines().empty();
  hooks_.say(Status{.kind = Status::Kind::RestartFailed, .message = reason, .pid = next_->pid(),
                    .other_pid = serving_, .output_above = said_something});
  hooks_.emit(Event{.kind = Event::Kind::Error, .pid = next_->pid(), .message = "restart failed: " + reason});
  keep_forwarding();
  end_readiness_wait();
  return Outcome{.ready = false, .generation = std::move(next_)};
}

void Overlap::end_readiness_wait() {
  if (!next_->ready) return;
  loop_.remove(next_->ready->fd());
  next_->ready.reset();
}

void Overlap::keep_forwarding() {
  if (next_->tail) forwarded_.push_back(std::move(next_->tail));
}

void Overlap::on_output(int fd) {
  auto forward = [fd](OutputTail& tail) {
    for (int f : tail.fds())
      if (f == fd) return tail.on_readable(fd), true;
    return false;
  };
  if (next_ && next_->tail && forward(*next_->tail)) return;
  for (auto it = forwarded_.begin(); it != forwarded_.end(); ++it) {
    if (forward(**it)) {
      if ((*it)->finished()) forwarded_.erase(it);
      return;
    }
  }
}

void Overlap::copy_window_size() {
  if (next_ && next_->tail) next_->tail->copy_window_size();
  for (auto& tail : forwarded_) tail->copy_window_size();
}

void Overlap::drain() {
  for (auto& tail : forwarded_) tail->drain();
}

}  // namespace relive::supervisor
