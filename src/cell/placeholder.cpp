// Placeholder until the cell part lands.
namespace relive::cell_internal { int placeholder = 0; }
