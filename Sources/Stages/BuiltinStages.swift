import PipelineEngine

/// The stages that ship with h5pipe, listed explicitly (never discovered at run time).
public enum BuiltinStages {
    /// Every built-in stage type, in the order `h5pipe stages` lists them.
    public static let all: [any Stage.Type] = [
        IngestIDXStage.self,
        ImportStage.self,
        TrainAutoencoderStage.self,
        EncodeStage.self,
        PCAStage.self,
        TSNEStage.self,
        UMAPStage.self,
        EvaluateEmbeddingStage.self,
        RenderScatterStage.self,
        RenderGridStage.self,
        RenderLossStage.self,
        RenderReconstructionsStage.self,
        CommandStage.self,
    ]
}
