import ArgumentParser
struct SampleCommand: ParsableCommand { static let configuration = CommandConfiguration(commandName: "sample", abstract: "x"); func run() throws {} }
