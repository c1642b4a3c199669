// Placeholder until the config part lands.
namespace relive::config_internal { int placeholder = 0; }
