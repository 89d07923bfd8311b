import CSndFile
import Foundation
import TimbreCore

/// An open audio file that libsndfile reads through its virtual I/O, served from one large
/// buffer: the header arrives in one small `pread`, the rest of a short file in one more,
/// a long one in reads of `bufferBytes`, where libsndfile on its own would make a read
/// call every few kilobytes.
///
/// Opening checks the file once (`fstat` on the open descriptor) and refuses anything but
/// a regular file, so a named pipe or a device never blocks or streams forever.
final class BufferedFileSource {
    let path: String
    let stamp: FileStamp
    private let descriptor: Int32
    /// Allocated on the first read, so that reading only the header costs nothing.
    private var buffer: [UInt8] = []
    private let capacity: Int
    /// File offset of `buffer[0]` and the number of valid bytes from there.
    private var bufferStart: Int64 = 0
    private var bufferCount = 0
    private var position: Int64 = 0

    static let bufferBytes = 1 << 20
    /// The first read, enough for the headers of common formats: opening a file only to
    /// learn its duration does not read all of it.
    static let headerBytes = 1 << 16

    /// - Throws: `FileError` when the path does not exist, cannot be opened or is not a
    ///   regular file.
    init(path: String) throws {
        self.path = path
        let (descriptor, status): (Int32, stat)
        switch RegularFile.open(path) {
        case .file(let opened, let info): (descriptor, status) = (opened, info)
        case .missing: throw FileError(path: path, reason: "no such file")
        case .unusable(let reason): throw FileError(path: path, reason: reason)
        }
        self.descriptor = descriptor
        stamp = FileStamp(status)
        capacity = Int(min(Int64(Self.bufferBytes), max(4096, stamp.size)))
    }

    deinit { close(descriptor) }

    /// Opens the file with libsndfile through this source. The source must outlive the
    /// returned handle.
    func openSoundFile(_ info: inout SF_INFO) -> OpaquePointer? {
        var io = SF_VIRTUAL_IO(
            get_filelen: { BufferedFileSource.from($0).stamp.size },
            seek: { offset, whence, user in BufferedFileSource.from(user).seek(offset, whence: whence) },
            read: { destination, count, user in
                guard let destination else { return 0 }
                return BufferedFileSource.from(user).read(into: destination.assumingMemoryBound(to: UInt8.self), count: Int(count))
            },
            write: { _, _, _ in 0 },
            tell: { BufferedFileSource.from($0).position })
        return sf_open_virtual(&io, Int32(SFM_READ), &info, Unmanaged.passUnretained(self).toOpaque())
    }

    private static func from(_ user: UnsafeMutableRawPointer?) -> BufferedFileSource {
        Unmanaged<BufferedFileSource>.fromOpaque(user!).takeUnretainedValue()
    }

    private func seek(_ offset: sf_count_t, whence: Int32) -> sf_count_t {
        let base: Int64
        switch whence {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = position
        case SEEK_END: base = stamp.size
        default: return -1
        }
        let (target, overflow) = base.addingReportingOverflow(offset)
        guard !overflow, target >= 0 else { return -1 }
        position = target
        return position
    }

    /// Copies up to `count` bytes from the current position; fewer at the end of the file.
    private func read(into destination: UnsafeMutablePointer<UInt8>, count: Int) -> sf_count_t {
        var copied = 0
        while copied < count {
            let wanted = count - copied
            let offsetInBuffer = position - bufferStart
            if offsetInBuffer >= 0 && offsetInBuffer < Int64(bufferCount) {
                let available = min(wanted, bufferCount - Int(offsetInBuffer))
                buffer.withUnsafeBufferPointer { (destination + copied).update(from: $0.baseAddress! + Int(offsetInBuffer), count: available) }
                copied += available
                position += Int64(available)
                continue
            }
            if wanted >= capacity {
                // A large request goes straight to the caller's memory.
                let got = readAt(destination + copied, count: wanted)
                guard got > 0 else { break }
                copied += got
                position += Int64(got)
                continue
            }
            if buffer.count < capacity { buffer = [UInt8](repeating: 0, count: bufferCount == 0 ? min(capacity, Self.headerBytes) : capacity) }
            let got = buffer.withUnsafeMutableBytes { readAt($0.baseAddress!, count: $0.count) }
            guard got > 0 else { bufferCount = 0; break }
            bufferStart = position
            bufferCount = got
        }
        return sf_count_t(copied)
    }

    /// `pread` at the current position, retried when a signal interrupts it; 0 at the end
    /// of the file or on an error (which libsndfile then reports as a short read).
    private func readAt(_ destination: UnsafeMutableRawPointer, count: Int) -> Int {
        while true {
            let got = pread(descriptor, destination, count, off_t(position))
            if got < 0 && errno == EINTR { continue }
            return max(0, got)
        }
    }
}
