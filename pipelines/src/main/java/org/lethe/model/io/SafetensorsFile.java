package org.lethe.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file opened for reading tensor by tensor, each through a memory map of only
 * its own bytes, so files and checkpoints of any size load without a whole-file buffer.
 *
 * <p>{@link #open} reads and validates the header only. {@link #read} maps one tensor's region,
 * hands it to DJL and returns a copy in the requested type that the caller's manager owns: the
 * mapping is never aliased by the result, so training may update it in place. Reads are
 * thread-safe; close the file when done (arrays already read stay valid).
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Header key of the free-form string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    /** Larger headers are refused (as the reference implementation does): not a safetensors file. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /**
     * Tensors above this size are loaded in blocks of rows, so that no mapping and no Java buffer
     * nears the 2 GiB limit and the transient memory stays bounded.
     */
    static final long DEFAULT_BLOCK_BYTES = 64L << 20;

    /** Largest region one mapping or one direct buffer can hold. */
    private static final long MAX_BUFFER_BYTES = Integer.MAX_VALUE;

    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final List<String> names;
    private final Map<String, String> metadata;

    /** One validated header entry; {@code begin} is relative to the start of the data. */
    private record Entry(TensorInfo info, SafetensorsDType type, long begin) {
        long end() {
            return begin + info.byteSize();
        }
    }

    private SafetensorsFile(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw fail(
                    "the file has %d bytes, fewer than the 8-byte header length every safetensors"
                            + " file starts with",
                    fileSize);
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(lengthBytes, 0);
        long headerLength = lengthBytes.getLong(0);
        // a u64 above Long.MAX_VALUE arrives negative
        if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
            throw fail(
                    "header length %s is above the %d-byte limit (not a safetensors file?)",
                    Long.toUnsignedString(headerLength),
                    MAX_HEADER_BYTES);
        }
        if (headerLength > fileSize - 8) {
            throw fail(
                    "header length %d reaches past the end of the file, which has %d bytes"
                            + " (truncated?)",
                    headerLength,
                    fileSize);
        }
        this.dataStart = 8 + headerLength;
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        readFully(header, 8);

        JsonNode root;
        try {
            root = JSON.readTree(header.array());
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(
                    path + ": header is not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw fail(
                    "header must be a JSON object, found %s",
                    root == null ? "nothing" : root.getNodeType());
        }

        Map<String, String> meta = new LinkedHashMap<>();
        List<Entry> parsed = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (METADATA_KEY.equals(field.getKey())) {
                parseMetadata(field.getValue(), meta);
            } else {
                parsed.add(parseEntry(field.getKey(), field.getValue()));
            }
        }
        // "file order" is the order of the data; the sort is stable, so ties (empty tensors)
        // keep header order
        parsed.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        checkWithinFile(parsed, fileSize);
        checkNoOverlap(parsed);

        Map<String, Entry> byName = new LinkedHashMap<>();
        for (Entry e : parsed) {
            byName.put(e.info().name(), e);
        }
        this.entries = Collections.unmodifiableMap(byName);
        this.names = List.copyOf(byName.keySet());
        this.metadata = Collections.unmodifiableMap(meta);
    }

    /**
     * Opens a safetensors file and validates its header: the header length, the JSON, and for
     * every tensor its dtype, shape and data offsets (size matching the shape, inside the file,
     * not overlapping another tensor).
     *
     * @param path the file
     * @return the open file; close it when done
     * @throws ModelFormatException if the file is not a valid safetensors file
     * @throws UncheckedIOException if the file cannot be read
     */
    public static SafetensorsFile open(Path path) {
        requireLittleEndianHost();
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot open (" + e + ")", e);
        }
        try {
            return new SafetensorsFile(path, channel);
        } catch (IOException e) {
            closeQuietly(channel, e);
            throw new UncheckedIOException(path + ": cannot read the header (" + e + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(channel, e);
            throw e;
        }
    }

    /** The file this reads. */
    public Path path() {
        return path;
    }

    /** The tensor names in the order their data appears in the file. */
    public List<String> names() {
        return names;
    }

    /** Whether the file holds a tensor of this name. */
    public boolean has(String name) {
        return entries.containsKey(name);
    }

    /**
     * The header's description of one tensor.
     *
     * @throws IllegalArgumentException if there is no such tensor
     */
    public TensorInfo info(String name) {
        return entry(name).info();
    }

    /** The header's {@code __metadata__} (empty when absent), in header order. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Reads one tensor in the type it is best computed in: its own type, except BF16, which is
     * widened to FLOAT32 (DJL's PyTorch engine cannot hold BFLOAT16 arrays).
     *
     * @see #read(NDManager, String, DataType)
     */
    public NDArray read(NDManager manager, String name) {
        SafetensorsDType type = entry(name).type();
        requireReadable(name, type);
        return read(manager, name, type.djlType());
    }

    /**
     * Reads one tensor, converted to {@code computeType}, as a new array owned by {@code
     * manager}. Only that tensor's bytes are mapped; the result is a copy in memory the engine
     * owns, never a view of the file.
     *
     * @param manager the manager that will own the result (and decides its device)
     * @param name the tensor's name
     * @param computeType the type of the result, e.g. FLOAT32; BFLOAT16, INT16 and unsigned
     *     types wider than 8 bits are refused (DJL's PyTorch engine aborts the JVM on them)
     * @return a new array with the tensor's shape, named after the tensor
     * @throws IllegalArgumentException if there is no such tensor or the compute type is refused
     * @throws UnsupportedOperationException if the tensor's dtype cannot be loaded into DJL
     */
    public NDArray read(NDManager manager, String name, DataType computeType) {
        return read(manager, name, computeType, DEFAULT_BLOCK_BYTES);
    }

    /** {@link #read(NDManager, String, DataType)} with a chosen block size (tests use tiny ones). */
    NDArray read(NDManager manager, String name, DataType computeType, long blockBytes) {
        Entry e = entry(name);
        requireComputeType(computeType);
        requireReadable(name, e.type());
        long[] shape = e.info().shape();
        long bytes = e.info().byteSize();
        if (bytes == 0) {
            NDArray empty = manager.zeros(new Shape(shape), computeType);
            empty.setName(name);
            return empty;
        }
        long rows = shape.length == 0 ? 1 : shape[0];
        long rowBytes = bytes / rows;
        // BF16 is widened to four bytes per element in a Java buffer before DJL sees it
        long widening = e.type() == SafetensorsDType.BF16 ? 2 : 1;

        if (bytes <= blockBytes || rows == 1) {
            if (bytes * widening > MAX_BUFFER_BYTES) {
                throw tooLarge(e, "a tensor that cannot be split along its first axis");
            }
            try (NDArray raw = wrap(manager, e, 0, shape)) {
                // duplicate(), not toType(same, true): DJL's toType returns the same storage
                // when the type does not change, whatever the copy flag says
                NDArray copy =
                        raw.getDataType() == computeType
                                ? raw.duplicate()
                                : raw.toType(computeType, true);
                copy.setName(name);
                return copy;
            }
        }

        if (rowBytes * widening > MAX_BUFFER_BYTES) {
            throw tooLarge(e, "one row along the first axis");
        }
        long rowsPerBlock = Math.max(1, Math.min(blockBytes, MAX_BUFFER_BYTES / widening) / rowBytes);
        NDArray result = manager.create(new Shape(shape), computeType);
        result.setName(name);
        try {
            for (long r0 = 0; r0 < rows; r0 += rowsPerBlock) {
                long r1 = Math.min(rows, r0 + rowsPerBlock);
                long[] blockShape = shape.clone();
                blockShape[0] = r1 - r0;
                NDIndex rowsIndex = new NDIndex("{}:{}", r0, r1);
                try (NDArray raw = wrap(manager, e, r0 * rowBytes, blockShape)) {
                    if (raw.getDataType() == computeType) {
                        result.set(rowsIndex, raw); // set() copies, so the mapping is not kept
                    } else {
                        try (NDArray converted = raw.toType(computeType, true)) {
                            result.set(rowsIndex, converted);
                        }
                    }
                }
            }
            return result;
        } catch (RuntimeException ex) {
            result.close();
            throw ex;
        }
    }

    /**
     * Maps a block of the tensor and wraps it as an NDArray WITHOUT copying on CPU: the array
     * aliases the read-only mapping (or, for BF16, the widened buffer), so it must be copied
     * and closed, never returned.
     */
    private NDArray wrap(NDManager manager, Entry e, long offset, long[] shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        long bytes = count * e.type().byteSize();
        MappedByteBuffer mapped;
        try {
            mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin() + offset, bytes);
        } catch (IOException ex) {
            throw new UncheckedIOException(
                    path + ": cannot map tensor '" + e.info().name() + "' (" + ex + ")", ex);
        }
        mapped.order(ByteOrder.LITTLE_ENDIAN);
        try {
            if (e.type() == SafetensorsDType.BF16) {
                return manager.create(widenBf16(mapped), new Shape(shape), DataType.FLOAT32);
            }
            return manager.create(mapped, new Shape(shape), e.type().djlType());
        } finally {
            // DJL keeps its own reference on CPU; this keeps the mapping alive on every path
            Reference.reachabilityFence(mapped);
        }
    }

    /**
     * BF16 is the upper half of an IEEE float32, so widening is a 16-bit shift; done in Java
     * because DJL 0.35.1's PyTorch engine aborts the JVM on BFLOAT16 (and INT16) arrays.
     */
    static ByteBuffer widenBf16(ByteBuffer bf16) {
        ShortBuffer in = bf16.duplicate().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        int n = in.remaining();
        ByteBuffer out =
                ByteBuffer.allocateDirect(Math.multiplyExact(n, 4)).order(ByteOrder.nativeOrder());
        IntBuffer widened = out.asIntBuffer();
        short[] halves = new short[Math.min(n, 8192)];
        int[] words = new int[halves.length];
        while (in.hasRemaining()) {
            int k = Math.min(halves.length, in.remaining());
            in.get(halves, 0, k);
            for (int i = 0; i < k; i++) {
                words[i] = (halves[i] & 0xFFFF) << 16;
            }
            widened.put(words, 0, k);
        }
        return out;
    }

    /** Closes the file. Arrays already read stay valid: they never alias the file. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot close (" + e + ")", e);
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + names.size() + " tensors]";
    }

    /** Refuses types DJL 0.35.1's PyTorch engine cannot hold: they abort the JVM, not throw. */
    static void requireComputeType(DataType type) {
        switch (type) {
            case FLOAT32:
            case FLOAT64:
            case FLOAT16:
            case INT64:
            case INT32:
            case INT8:
            case UINT8:
            case BOOLEAN:
                return;
            default:
                throw new IllegalArgumentException(
                        "compute type "
                                + type
                                + " is not supported: DJL 0.35.1's PyTorch engine aborts the"
                                + " JVM on BFLOAT16, INT16 and unsigned types wider than 8 bits;"
                                + " use FLOAT32 (or FLOAT16)");
        }
    }

    /** Safetensors data is little-endian and is handed to the engine as raw memory. */
    static void requireLittleEndianHost() {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException(
                    "safetensors data is little-endian and is passed to the engine unconverted;"
                            + " this host is big-endian");
        }
    }

    private void requireReadable(String name, SafetensorsDType type) {
        if (!type.isReadable()) {
            throw new UnsupportedOperationException(
                    String.format(
                            "%s: tensor '%s' has dtype %s, which cannot be loaded into DJL"
                                    + " (readable: %s)",
                            path, name, type, SafetensorsDType.readableNames()));
        }
    }

    private Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(
                    String.format(
                            "%s: no tensor named '%s' (the file has %d tensors%s)",
                            path,
                            name,
                            names.size(),
                            names.isEmpty() ? "" : ", e.g. '" + names.get(0) + "'"));
        }
        return e;
    }

    private void parseMetadata(JsonNode node, Map<String, String> into) {
        if (!node.isObject()) {
            throw fail(
                    "%s must be a JSON object of strings, found %s", METADATA_KEY, node.getNodeType());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (!f.getValue().isTextual()) {
                throw fail(
                        "%s key '%s' must be a string, found %s",
                        METADATA_KEY, f.getKey(), f.getValue());
            }
            into.put(f.getKey(), f.getValue().asText());
        }
    }

    private Entry parseEntry(String name, JsonNode node) {
        if (!node.isObject()) {
            throw fail(
                    "tensor '%s' must be a JSON object with dtype, shape and data_offsets, found %s",
                    name, node);
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw fail("tensor '%s' has no \"dtype\" string (found %s)", name, dtypeNode);
        }
        SafetensorsDType type = SafetensorsDType.parse(dtypeNode.asText());
        if (type == null) {
            throw fail(
                    "tensor '%s' has dtype '%s', expected one of %s",
                    name, dtypeNode.asText(), SafetensorsDType.knownNames());
        }

        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw fail("tensor '%s' has no \"shape\" array (found %s)", name, shapeNode);
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw fail(
                        "tensor '%s' has shape %s, expected non-negative integers", name, shapeNode);
            }
            shape[i] = d.asLong();
        }

        JsonNode offsets = node.get("data_offsets");
        if (offsets == null
                || !offsets.isArray()
                || offsets.size() != 2
                || !isNonNegativeLong(offsets.get(0))
                || !isNonNegativeLong(offsets.get(1))
                || offsets.get(0).asLong() > offsets.get(1).asLong()) {
            throw fail(
                    "tensor '%s' has data_offsets %s, expected [begin, end] with 0 <= begin <= end",
                    name, offsets);
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();

        long expected;
        try {
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            expected = Math.multiplyExact(count, type.byteSize());
        } catch (ArithmeticException overflow) {
            throw fail("tensor '%s' has shape %s, too large to address", name, shapeNode);
        }
        if (end - begin != expected) {
            throw fail(
                    "tensor '%s' is %s %s, which takes %d bytes, but its data_offsets [%d, %d]"
                            + " span %d bytes",
                    name, type, Arrays.toString(shape), expected, begin, end, end - begin);
        }
        return new Entry(new TensorInfo(name, type.name(), shape, expected), type, begin);
    }

    private void checkWithinFile(List<Entry> sorted, long fileSize) {
        Entry first = null;
        int past = 0;
        for (Entry e : sorted) {
            if (e.end() > fileSize - dataStart) {
                past++;
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw fail(
                    "tensor '%s' data ends at byte %d but the file has %d bytes (truncated? %d of"
                            + " %d tensors reach past the end)",
                    first.info().name(), dataStart + first.end(), fileSize, past, sorted.size());
        }
    }

    private void checkNoOverlap(List<Entry> sorted) {
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.info().byteSize() == 0) {
                continue;
            }
            if (previous != null && e.begin() < previous.end()) {
                throw fail(
                        "tensors '%s' [%d, %d] and '%s' [%d, %d] overlap; each tensor needs its"
                                + " own bytes",
                        previous.info().name(), previous.begin(), previous.end(),
                        e.info().name(), e.begin(), e.end());
            }
            if (previous == null || e.end() > previous.end()) {
                previous = e;
            }
        }
    }

    private ModelFormatException tooLarge(Entry e, String what) {
        return new ModelFormatException(
                String.format(
                        "%s: tensor '%s' (%s %s, %d bytes) cannot be loaded: %s must fit in a"
                                + " 2 GiB buffer%s",
                        path,
                        e.info().name(),
                        e.type(),
                        Arrays.toString(e.info().shape()),
                        e.info().byteSize(),
                        what,
                        e.type() == SafetensorsDType.BF16 ? " after widening BF16 to F32" : ""));
    }

    private ModelFormatException fail(String format, Object... args) {
        return new ModelFormatException(path + ": " + String.format(format, args));
    }

    private void readFully(ByteBuffer into, long position) throws IOException {
        long at = position;
        while (into.hasRemaining()) {
            int n = channel.read(into, at);
            if (n < 0) {
                throw fail("unexpected end of file at byte %d", at);
            }
            at += n;
        }
    }

    private static boolean isNonNegativeLong(JsonNode n) {
        return n.isIntegralNumber() && n.canConvertToLong() && n.asLong() >= 0;
    }

    private static void closeQuietly(FileChannel channel, Exception primary) {
        try {
            channel.close();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }
}
