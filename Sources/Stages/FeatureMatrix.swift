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

    /// The points an embedding stage (`tsne`, `umap`) embeds: `/features`, or `/embedding` when
    /// the artifact has only that, read by ``readMatrix(_:)``; with the dataset's path.
    /// - Throws: ``StageError`` naming the file when it has neither.
    func readPointsToEmbed() throws -> (values: [Float], count: Int, dimensions: Int, path: String) {
        let path = contains("/features") || !contains("/embedding") ? "/features" : "/embedding"
        guard contains(path) else {
            throw StageError(
                "\(url.path) has no `/features` dataset; connect a features artifact (e.g. from `encode` or `pca`)")
        }
        let (values, shape) = try readMatrix(path)
        return (values, shape[0], shape[1], path)
    }

    /// Copies the input's `/labels` (one number per point, same type) and root `class_names`, when
    /// present, into an embedding stage's `output`.
    /// - Throws: ``StageError`` when `/labels` is not `count` numbers.
    func copyLabels(count: Int, to output: HDF5File) throws {
        if contains("/labels") {
            let info = try file.datasetInfo("/labels")
            guard let type = info.elementType, info.shape == [count] else {
                throw StageError(
                    "`/labels` in \(url.path) has shape \(info.shape) (\(info.typeDescription)); expected [\(count)] numbers"
                )
            }
            func copy<T: HDF5Scalar>(_ type: T.Type) throws {
                try output.write(file.read(type, from: "/labels"), to: "/labels")
            }
            try copy(type.scalarType)
        }
        if let classNames = try file.attribute("class_names", at: "/") {
            try output.setAttribute("class_names", classNames, at: "/")
        }
    }
}
