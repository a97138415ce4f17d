/// The root is what the compactor works on, seen only through ``CompactionSource``.
extension SpoolRoot: CompactionSource {}
