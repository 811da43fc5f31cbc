import H5PipeCLI

// h5pipe with every built-in stage plus this package's own.
H5PipeCommand.main(extraStages: [SummaryStatistics.self])
