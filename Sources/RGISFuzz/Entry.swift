import Foundation

// Built with -DRGIS_FUZZ (tools/fuzz): libFuzzer's entry point, the target named by RGIS_FUZZ_TARGET.
// Built plainly: `rgis-fuzz TARGET FILE…` runs each saved input once (the regression tests).
#if RGIS_FUZZ
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzer(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The executable's entry (SwiftPM names it so): libFuzzer's driver, calling the target per input.
@_cdecl("rgis_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var values: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runFuzzer(&count, &values, fuzzOne)
}

/// What libFuzzer calls with each input.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    FuzzTargets.exercise(ProcessInfo.processInfo.environment["RGIS_FUZZ_TARGET"] ?? "geojson", Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let target = arguments.first, FuzzTargets.names.contains(target) else {
            FileHandle.standardError.write(Data("usage: rgis-fuzz \(FuzzTargets.names.joined(separator: "|")) FILE…\n".utf8))
            exit(64)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("rgis-fuzz: cannot read \(path)\n".utf8))
                exit(66)
            }
            FuzzTargets.exercise(target, [UInt8](data))
        }
    }
}
#endif
