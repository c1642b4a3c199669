// Placeholder until the supervisor part lands.
namespace relive::supervisor_internal { int placeholder = 0; }
