import ArgumentParser
import Spool

/// `spool train-dict`: trains a zstd dictionary from a queue's tasks and installs it.
struct TrainDictionaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-dict",
        abstract: "Train a zstd dictionary from a queue's own tasks, for small batches that compress poorly alone.",
        discussion: """
            The dictionary is stored in <queue>/dictionaries/<id>.zdict and named in
            <queue>/dictionaries/current; writers opened with --compression zstd-dict use it.
            Batches compressed with it need Spool, or the dictionary file, to be read: a Kafka
            decoder alone cannot. Never delete a dictionary while batches made with it remain.
            Reads the segments without taking the lock, so it may run beside a writer.

            Examples:
              spool train-dict --queue emails
              spool train-dict --queue emails --samples 50000 --capacity 65536
              spool enqueue --queue emails --compression zstd-dict --stdin < tasks.txt
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Queue name.")
    var queue = "default"

    @Option(help: "Tasks to learn from, newest first.")
    var samples = 10_000

    @Option(help: "Largest dictionary in bytes (256...1048576).")
    var capacity = 16 << 10

    func validate() throws {
        guard (8...DictionaryTrainer.samplesMaxLimit).contains(samples) else {
            throw ValidationError("--samples must be 8...\(DictionaryTrainer.samplesMaxLimit)")
        }
        guard (256...(1 << 20)).contains(capacity) else { throw ValidationError("--capacity must be 256...1048576") }
    }

    func run() async throws {
        try QueueName.validate(queue)
        let outcome = try DictionaryTrainer.train(
            queueDirectory: RootLayout(root: common.resolvedDir).queueDirectory(queue), samplesMax: samples,
            capacityBytes: capacity)
        if common.json {
            var line = JSONLine()
            line.add("queue", queue)
            line.add("dictionary_id", Int64(outcome.dictionary.id))
            line.add("dictionary_bytes", outcome.dictionary.bytes.count)
            line.add("samples", outcome.samples)
            line.add("sample_bytes", outcome.sampleBytes)
            line.add("path", outcome.path)
            Console.out(line.text)
        } else {
            Console.out(
                "trained dictionary \(outcome.dictionary.id) (\(Human.bytes(Int64(outcome.dictionary.bytes.count)))) "
                    + "from \(Human.count(outcome.samples)) tasks (\(Human.bytes(Int64(outcome.sampleBytes))))")
            Console.out("stored in \(outcome.path); open the queue with --compression zstd-dict to use it")
        }
    }
}
