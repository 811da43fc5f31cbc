import H5PipeCLI

H5PipeCommand.main()
