/// The h5pipe version, recorded in every artifact's provenance.
public let h5pipeVersion = "0.1.0"
