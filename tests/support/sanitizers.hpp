// RELIVE_TEST_ASAN: 1 when the tests are built with AddressSanitizer (clang: __has_feature;
// g++: __SANITIZE_ADDRESS__), else 0 — for tests that measure the heap, which ASan's
// allocator counts in its own way (<sanitizer/allocator_interface.h>).
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define RELIVE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RELIVE_TEST_ASAN 1
#endif
#endif
#ifndef RELIVE_TEST_ASAN
#define RELIVE_TEST_ASAN 0
#endif
