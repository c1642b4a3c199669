// The interface between the live_handler server and its request-handling module.
#pragma once

#include <string>

#include <relive/module_entry.hpp>

RELIVE_INTERFACE(Handler,
  // The body of the answer to GET `path`. Called on the server's worker threads,
  // concurrently: implementations make it thread-safe.
  virtual std::string handle(const std::string& path) = 0;
  // Requests answered so far, by this generation and the ones before it.
  virtual long served() const = 0;
);
