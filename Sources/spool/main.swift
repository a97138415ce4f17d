import Glibc
import SpoolCLI

// A reader that goes away (`spool dump … | head`) must end the command quietly with status 0, as
// a closed pipe ends `cat`'s work: writes then fail with EPIPE, which Console turns into exit 0,
// instead of the signal killing the process with status 141.
signal(SIGPIPE, SIG_IGN)
exit(await SpoolCommand.run(arguments: Array(CommandLine.arguments.dropFirst())))
