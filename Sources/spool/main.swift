import Glibc
import SpoolCLI

exit(await SpoolCommand.run(arguments: Array(CommandLine.arguments.dropFirst())))
