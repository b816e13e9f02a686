"""The command line: click code that parses, calls the core, prints, and maps errors."""
