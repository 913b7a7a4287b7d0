package org.lethe.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Writes named NDArrays to one safetensors file, streaming tensor by tensor into a temporary
 * file that is renamed over the target only once it is complete.
 *
 * <p>The layout is the one Hugging Face writes: the header is padded with spaces to a multiple
 * of 8 bytes, {@code __metadata__} always carries {@code "format": "pt"}, and tensors appear in
 * the map's iteration order. Arrays are neither modified nor closed.
 */
public final class SafetensorsWriter {

    /** Tensors above this size are written in blocks of rows, bounding the transient memory. */
    static final long DEFAULT_BLOCK_BYTES = 64L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    /** One tensor as it will be stored. */
    private record Planned(String name, NDArray array, SafetensorsDType type, long[] shape, long bytes) {}

    /**
     * Writes the tensors, each in the safetensors type of its own DJL type.
     *
     * @see #write(Path, Map, Map, DataType)
     */
    public static long write(
            Path file, Map<String, ? extends NDArray> tensors, Map<String, String> metadata) {
        return write(file, tensors, metadata, null);
    }

    /**
     * Writes the tensors to {@code file}, replacing it atomically.
     *
     * @param file the target; its directory must exist
     * @param tensors the tensors in file order (use an ordered map)
     * @param metadata extra {@code __metadata__} entries; {@code format} is always {@code pt}
     * @param floatStorage the type to store floating-point tensors as (FLOAT32, FLOAT16,
     *     BFLOAT16 or FLOAT64), or null to keep each array's own type; integer and boolean
     *     tensors are always stored as they are. BFLOAT16 is produced in Java with
     *     round-to-nearest-even, because DJL's PyTorch engine cannot hold BFLOAT16 arrays.
     * @return the size of the written file in bytes
     * @throws IllegalArgumentException for an invalid name, a closed array or an unsupported type
     * @throws UncheckedIOException if writing fails; the target is then left as it was
     */
    public static long write(
            Path file,
            Map<String, ? extends NDArray> tensors,
            Map<String, String> metadata,
            DataType floatStorage) {
        return write(file, tensors, metadata, floatStorage, DEFAULT_BLOCK_BYTES);
    }

    /** {@link #write(Path, Map, Map, DataType)} with a chosen block size (tests use tiny ones). */
    static long write(
            Path file,
            Map<String, ? extends NDArray> tensors,
            Map<String, String> metadata,
            DataType floatStorage,
            long blockBytes) {
        SafetensorsFile.requireLittleEndianHost();
        List<Planned> plan = plan(tensors, floatStorage);
        byte[] header = header(plan, metadata == null ? Map.of() : metadata);

        Path target = file.toAbsolutePath();
        // a unique name in the same directory, so the final rename is atomic; created with the
        // default permissions, unlike Files.createTempFile (owner-only)
        Path temp =
                target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
        boolean done = false;
        try {
            long size;
            try (FileChannel out =
                    FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                length.putLong(0, header.length);
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(header));
                for (Planned p : plan) {
                    long written = writeTensor(out, p, blockBytes);
                    if (written != p.bytes()) {
                        throw new IllegalStateException(
                                String.format(
                                        "%s: tensor '%s' produced %d bytes, expected %d",
                                        file, p.name(), written, p.bytes()));
                    }
                }
                out.force(true);
                size = out.size();
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
            return size;
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write (" + e + ")", e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // the write already failed; its exception is the one worth reporting
                }
            }
        }
    }

    /**
     * The safetensors dtype name an array is stored as, e.g. {@code F32}.
     *
     * @param floatStorage as in {@link #write(Path, Map, Map, DataType)}
     */
    public static String storedDtype(NDArray array, DataType floatStorage) {
        return storedType(array.getDataType(), floatStorage).name();
    }

    /**
     * The number of data bytes an array takes in a safetensors file (the header not included).
     *
     * @param floatStorage as in {@link #write(Path, Map, Map, DataType)}
     */
    public static long storedBytes(NDArray array, DataType floatStorage) {
        return Math.multiplyExact(
                array.getShape().size(), storedType(array.getDataType(), floatStorage).byteSize());
    }

    static SafetensorsDType storedType(DataType type, DataType floatStorage) {
        if (floatStorage != null) {
            if (!floatStorage.isFloating() || floatStorage == DataType.COMPLEX64) {
                throw new IllegalArgumentException(
                        "floatStorage must be FLOAT32, FLOAT16, BFLOAT16 or FLOAT64, not "
                                + floatStorage);
            }
            if (type.isFloating() && type != DataType.COMPLEX64) {
                return SafetensorsDType.of(floatStorage);
            }
        }
        return SafetensorsDType.of(type);
    }

    private static List<Planned> plan(Map<String, ? extends NDArray> tensors, DataType floatStorage) {
        Objects.requireNonNull(tensors, "tensors");
        List<Planned> plan = new ArrayList<>(tensors.size());
        for (Map.Entry<String, ? extends NDArray> e : tensors.entrySet()) {
            String name = e.getKey();
            NDArray array = e.getValue();
            requireWritable(name, array);
            SafetensorsDType type;
            try {
                type = storedType(array.getDataType(), floatStorage);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("tensor '" + name + "': " + ex.getMessage(), ex);
            }
            long[] shape = array.getShape().getShape();
            plan.add(new Planned(name, array, type, shape, storedBytes(array, floatStorage)));
        }
        return plan;
    }

    /** Rejects what cannot be written, before any file is touched (a closed array has no shape). */
    static void requireWritable(String name, NDArray array) {
        if (name == null || name.isEmpty() || SafetensorsFile.METADATA_KEY.equals(name)) {
            throw new IllegalArgumentException(
                    "invalid tensor name '" + name + "': must be non-empty and not "
                            + SafetensorsFile.METADATA_KEY);
        }
        if (array == null || array.isReleased()) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "' is " + (array == null ? "null" : "already closed"));
        }
    }

    private static byte[] header(List<Planned> plan, Map<String, String> metadata) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode meta = root.putObject(SafetensorsFile.METADATA_KEY);
        // transformers refuses to load a safetensors checkpoint whose format is not a framework
        meta.put("format", "pt");
        for (Map.Entry<String, String> m : metadata.entrySet()) {
            if ("format".equals(m.getKey()) && !"pt".equals(m.getValue())) {
                throw new IllegalArgumentException(
                        "metadata 'format' is always 'pt' (PyTorch layout), not '" + m.getValue() + "'");
            }
            meta.put(Objects.requireNonNull(m.getKey()), Objects.requireNonNull(m.getValue(), m.getKey()));
        }
        long offset = 0;
        for (Planned p : plan) {
            ObjectNode t = root.putObject(p.name());
            t.put("dtype", p.type().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : p.shape()) {
                shape.add(d);
            }
            t.putArray("data_offsets").add(offset).add(offset + p.bytes());
            offset += p.bytes();
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a safetensors header", e);
        }
        // padding keeps the data 8-byte aligned, as Hugging Face's writer does
        int padded = (json.length + 7) / 8 * 8;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static long writeTensor(FileChannel out, Planned p, long blockBytes) throws IOException {
        if (p.bytes() == 0) {
            return 0;
        }
        long rows = p.shape().length == 0 ? 1 : p.shape()[0];
        if (p.bytes() <= blockBytes || rows <= 1) {
            return writeBlock(out, p.array(), p.type());
        }
        long rowsPerBlock = Math.max(1, blockBytes / (p.bytes() / rows));
        long written = 0;
        for (long r0 = 0; r0 < rows; r0 += rowsPerBlock) {
            long r1 = Math.min(rows, r0 + rowsPerBlock);
            try (NDArray block = p.array().get(new NDIndex("{}:{}", r0, r1))) {
                written += writeBlock(out, block, p.type());
            }
        }
        return written;
    }

    /** Writes one block's bytes in the stored type; toByteBuffer() gives a row-major copy. */
    private static long writeBlock(FileChannel out, NDArray block, SafetensorsDType type)
            throws IOException {
        DataType have = block.getDataType();
        boolean narrowInJava = type == SafetensorsDType.BF16 && have != DataType.BFLOAT16;
        DataType want = narrowInJava ? DataType.FLOAT32 : type.layoutType();
        NDArray converted = have == want ? null : block.toType(want, false);
        try {
            ByteBuffer bytes = (converted == null ? block : converted).toByteBuffer();
            bytes.order(ByteOrder.LITTLE_ENDIAN);
            if (narrowInJava) {
                narrowToBf16(bytes);
            }
            int n = bytes.remaining();
            writeFully(out, bytes);
            return n;
        } finally {
            if (converted != null) {
                converted.close();
            }
        }
    }

    /** Rewrites little-endian float32 data as bfloat16 in place (the buffer shrinks by half). */
    static void narrowToBf16(ByteBuffer f32) {
        int start = f32.position();
        int n = f32.remaining() / 4;
        // writing element i at 2i never overtakes reading element i at 4i
        for (int i = 0; i < n; i++) {
            f32.putShort(start + 2 * i, toBf16(f32.getInt(start + 4 * i)));
        }
        f32.limit(start + 2 * n);
    }

    /** float32 bits to bfloat16 bits, rounding to nearest even, as PyTorch does. */
    static short toBf16(int floatBits) {
        if ((floatBits & 0x7FFFFFFF) > 0x7F800000) {
            // NaN: keep the sign and top payload bits, force a quiet NaN so it cannot become inf
            return (short) ((floatBits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((floatBits >>> 16) & 1);
        return (short) ((floatBits + roundingBias) >>> 16);
    }

    private static void writeFully(FileChannel out, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
    }
}
