import Foundation

/// Standard output and error for the CLI. Output is written through FileHandle so that it is not held
/// in stdio's block buffer when redirected, and progress goes to standard error only on a terminal.
enum Console {
    static let isErrorTerminal = isatty(STDERR_FILENO) == 1

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(("rgis: " + text + "\n").utf8))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Redraws a one-line progress bar on a terminal; does nothing otherwise.
    static func progress(fraction: Double?, detail: String) {
        guard isErrorTerminal else { return }
        var line = "\r"
        if let fraction {
            let width = 30
            let filled = Int((min(1, max(0, fraction)) * Double(width)).rounded())
            line += "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            line += String(format: "%3.0f%% ", fraction * 100)
        }
        line += detail
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func endProgress() {
        guard isErrorTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
