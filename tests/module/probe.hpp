// The interface the module tests load: a probe that says which build it is (tag), counts
// calls (its state, handed over across swaps) and reports its lifetime to the test.
#pragma once

#include <relive/module_entry.hpp>

#ifndef PROBE_CHANGED_INTERFACE
RELIVE_INTERFACE(Probe,
  virtual int tag() const = 0;
  virtual long call(long x) = 0;
  virtual long counter() const = 0;
);
#else
// The same name with one more member: a different hash (a host built with the
// interface above must refuse it).
RELIVE_INTERFACE(Probe,
  virtual int tag() const = 0;
  virtual long call(long x) = 0;
  virtual long counter() const = 0;
  virtual void added_later() = 0;
);
#endif

// Exported by the test executable (not present in the preflight helper): the probe calls
// it from its constructor (event 0) and destructor (event 1).
extern "C" [[gnu::weak]] void relive_test_probe_event(int event, const void* instance, int tag);
