// A shared library that is not a relive module (no relive_module_entry_v1).
extern "C" [[gnu::visibility("default")]] int just_a_library() { return 1; }
