// Placeholder until the burst part lands.
namespace relive::burst_internal { int placeholder = 0; }
