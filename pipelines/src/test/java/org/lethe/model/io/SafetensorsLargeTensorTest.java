package org.lethe.model.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lethe.model.io.SafetensorsTestSupport.newManager;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Tensors past 2 GiB, the limit of DJL's own safetensors reader: opt-in ({@code
 * -Dlethe.largeTests=true}) as each case needs about 5 GB of memory and disk.
 */
@EnabledIfSystemProperty(named = "lethe.largeTests", matches = "true")
class SafetensorsLargeTensorTest {

    private static final long ROWS = 36_864;
    private static final long COLS = 16_384; // ROWS * COLS * 4 bytes = 2.25 GiB

    @TempDir Path tmp;

    @Test
    void readsAndWritesAnF32TensorLargerThan2GiB() throws IOException {
        Path path = sparseFile(tmp.resolve("big-f32.safetensors"), "F32", 4);
        putMarkers(path, 4);
        try (SafetensorsFile file = SafetensorsFile.open(path);
                NDManager manager = newManager()) {
            NDArray big = file.read(manager, "big", DataType.FLOAT32);
            assertMarkers(big);

            Path copy = tmp.resolve("copy.safetensors");
            SafetensorsWriter.write(copy, Map.of("big", big), Map.of());
            try (RandomAccessFile raf = new RandomAccessFile(copy.toFile(), "r")) {
                byte[] len = new byte[8];
                raf.readFully(len);
                long dataStart = 8 + ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
                assertEquals(dataStart + ROWS * COLS * 4, Files.size(copy));
                assertEquals(1.5f, floatAt(raf, dataStart, 0));
                assertEquals(-7.25f, floatAt(raf, dataStart, 20_000 * COLS + 123));
                assertEquals(3.0f, floatAt(raf, dataStart, ROWS * COLS - 1));
            }
        }
    }

    @Test
    void widensABf16TensorWhoseF32FormExceeds2GiB() throws IOException {
        Path path = sparseFile(tmp.resolve("big-bf16.safetensors"), "BF16", 2);
        putMarkers(path, 2);
        try (SafetensorsFile file = SafetensorsFile.open(path);
                NDManager manager = newManager()) {
            assertMarkers(file.read(manager, "big", DataType.FLOAT32));
        }
    }

    /** A file whose data is all zeros except what {@link #putMarkers} sets; sparse on disk. */
    private static Path sparseFile(Path path, String dtype, int elementBytes) throws IOException {
        long bytes = ROWS * COLS * elementBytes;
        String json =
                String.format(
                        "{\"big\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[0,%d]}}",
                        dtype, ROWS, COLS, bytes);
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(header);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            raf.write(head.array());
            raf.setLength(8 + padded + bytes);
        }
        return path;
    }

    /** Writes 1.5 first, -7.25 at row 20000 column 123, 3.0 last. */
    private static void putMarkers(Path path, int elementBytes) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            byte[] len = new byte[8];
            raf.readFully(len);
            long dataStart = 8 + ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            put(raf, dataStart, 0, 1.5f, elementBytes);
            put(raf, dataStart, 20_000 * COLS + 123, -7.25f, elementBytes);
            put(raf, dataStart, ROWS * COLS - 1, 3.0f, elementBytes);
        }
    }

    private static void put(RandomAccessFile raf, long dataStart, long index, float value, int elementBytes)
            throws IOException {
        int bits = Float.floatToIntBits(value);
        ByteBuffer b = ByteBuffer.allocate(elementBytes).order(ByteOrder.LITTLE_ENDIAN);
        if (elementBytes == 4) {
            b.putInt(bits);
        } else {
            b.putShort((short) (bits >>> 16)); // exact: these values fit in BF16
        }
        raf.seek(dataStart + index * elementBytes);
        raf.write(b.array());
    }

    private static float floatAt(RandomAccessFile raf, long dataStart, long index) throws IOException {
        byte[] b = new byte[4];
        raf.seek(dataStart + index * 4);
        raf.readFully(b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getFloat();
    }

    private static void assertMarkers(NDArray big) {
        assertEquals(ROWS, big.getShape().get(0));
        assertEquals(COLS, big.getShape().get(1));
        assertEquals(1.5f, big.getFloat(0, 0));
        assertEquals(-7.25f, big.getFloat(20_000, 123));
        assertEquals(3.0f, big.getFloat(ROWS - 1, COLS - 1));
        assertEquals(1.5f - 7.25f + 3.0f, big.sum().getFloat(), 1e-6f);
    }
}
