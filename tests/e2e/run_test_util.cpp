#include "run_test_util.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

namespace relive::test {

int free_port() { return free_loopback_port(); }

}  // namespace relive::test
