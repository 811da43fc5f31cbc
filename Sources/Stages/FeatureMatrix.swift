import HDF5
import PipelineEngine

extension InputArtifact {
    /// The numeric dataset at `path` as a row-major `[N, d]` matrix of Floats (d ≥ 1) whose values
    /// are all finite: the one reading of feature and embedding matrices that `tsne` and
    /// `evaluate-embedding` share. Any stored numeric type, read as ``readFloats(_:)`` reads it.
    /// - Throws: ``StageError`` naming the file and the dataset when it is missing, not numeric, not
    ///   two-dimensional, or holds NaN or an infinity (with its row and column).
    func readMatrix(_ path: String) throws -> (values: [Float], shape: [Int]) {
        let info = try datasetInfo(path)
        guard info.elementType != nil, info.shape.count == 2, info.shape[1] >= 1 else {
            throw StageError(
                "`\(path)` in \(url.path) holds \(info.typeDescription) of shape \(info.shape); expected numbers of shape [N, d]"
            )
        }
        let (values, shape) = try readFloats(path)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw StageError(
                "`\(path)` in \(url.path): row \(bad / shape[1]) (column \(bad % shape[1])) is NaN or infinite; "
                    + "remove or repair that row")
        }
        return (values, shape)
    }
}
