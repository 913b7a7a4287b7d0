package org.lethe.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lethe.model.io.SafetensorsFileTest.assertMentions;
import static org.lethe.model.io.SafetensorsTestSupport.newManager;
import static org.lethe.model.io.SafetensorsTestSupport.stories260K;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

class SafetensorsWriterTest {

    @TempDir Path tmp;

    /** Values exactly representable in F16 and BF16, so every round trip is exact. */
    private static final float[] EXACT = {1.0f, -2.0f, 3.140625f, 0.5f, -0.0078125f, 256f};

    @Test
    void roundTripsF32F16AndBf16() throws IOException {
        try (NDManager manager = newManager()) {
            NDArray f32 = manager.create(EXACT, new Shape(2, 3));
            NDArray f16 = manager.create(EXACT).toType(DataType.FLOAT16, false);
            NDArray ids = manager.create(new long[] {3, -1, 1L << 40});
            LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("dense.weight", f32);
            tensors.put("half.weight", f16);
            tensors.put("token.ids", ids);
            int arraysBefore = manager.getManagedArrays().size();

            Path own = tmp.resolve("own.safetensors");
            long size = SafetensorsWriter.write(own, tensors, Map.of("step", "12"));
            assertEquals(Files.size(own), size);
            Path bf16 = tmp.resolve("bf16.safetensors");
            SafetensorsWriter.write(bf16, tensors, Map.of(), DataType.BFLOAT16);
            // the writer closed its temporaries and left the inputs alone
            assertEquals(arraysBefore, manager.getManagedArrays().size());
            assertArrayEquals(EXACT, f32.toFloatArray());

            try (SafetensorsFile file = SafetensorsFile.open(own)) {
                assertEquals(List.of("dense.weight", "half.weight", "token.ids"), file.names());
                assertEquals(Map.of("format", "pt", "step", "12"), file.metadata());
                assertEquals(new TensorInfo("dense.weight", "F32", new long[] {2, 3}, 24), file.info("dense.weight"));
                assertEquals(new TensorInfo("half.weight", "F16", new long[] {6}, 12), file.info("half.weight"));
                assertEquals("I64", file.info("token.ids").dtype());
                assertArrayEquals(EXACT, file.read(manager, "dense.weight", DataType.FLOAT32).toFloatArray());
                assertArrayEquals(EXACT, file.read(manager, "half.weight", DataType.FLOAT32).toFloatArray());
                assertArrayEquals(new long[] {3, -1, 1L << 40}, file.read(manager, "token.ids").toLongArray());
            }
            try (SafetensorsFile file = SafetensorsFile.open(bf16)) {
                // floats stored as BF16 (12 bytes for 6 values), integers untouched
                assertEquals(new TensorInfo("dense.weight", "BF16", new long[] {2, 3}, 12), file.info("dense.weight"));
                assertEquals("BF16", file.info("half.weight").dtype());
                assertEquals("I64", file.info("token.ids").dtype());
                assertArrayEquals(EXACT, file.read(manager, "dense.weight", DataType.FLOAT32).toFloatArray());
                assertArrayEquals(EXACT, file.read(manager, "half.weight", DataType.FLOAT32).toFloatArray());
            }

            // bit level: the first BF16 value is 1.0 = 0x3F80, the second -2.0 = 0xC000
            ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(bf16)).order(ByteOrder.LITTLE_ENDIAN);
            long headerLength = raw.getLong(0);
            assertEquals(0, headerLength % 8, "header is padded to 8 bytes");
            int data = (int) (8 + headerLength);
            assertEquals((short) 0x3F80, raw.getShort(data));
            assertEquals((short) 0xC000, raw.getShort(data + 2));
            assertEquals((short) 0x4049, raw.getShort(data + 4));
        }
    }

    @Test
    void headerIsCompactJsonPaddedWithSpaces() throws IOException {
        try (NDManager manager = newManager()) {
            Path path = tmp.resolve("one.safetensors");
            SafetensorsWriter.write(path, Map.of("w", manager.create(new float[] {1f})), Map.of());
            ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
            int headerLength = (int) raw.getLong(0);
            String header = new String(Files.readAllBytes(path), 8, headerLength, StandardCharsets.UTF_8);
            String json = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
            assertEquals(json + " ".repeat(headerLength - json.length()), header);
            assertEquals(0, headerLength % 8);
            assertEquals(8 + headerLength + 4, raw.capacity());
            JsonNode parsed = new ObjectMapper().readTree(header);
            assertEquals("pt", parsed.get("__metadata__").get("format").asText());
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 (0x3F808000) lies halfway between 1.0 (0x3F80) and 1.0078125 (0x3F81): ties go to even
        assertEquals((short) 0x3F80, SafetensorsWriter.toBf16(Float.floatToIntBits(1.00390625f)));
        // 1 + 3 * 2^-8 lies halfway between 0x3F81 and 0x3F82: ties go to even
        assertEquals((short) 0x3F82, SafetensorsWriter.toBf16(Float.floatToIntBits(1.01171875f)));
        // one ulp above / below halfway rounds up / down
        assertEquals((short) 0x3F81, SafetensorsWriter.toBf16(0x3F808001));
        assertEquals((short) 0x3F80, SafetensorsWriter.toBf16(0x3F807FFF));
        assertEquals((short) 0xBF81, SafetensorsWriter.toBf16(0xBF808001));
        assertEquals((short) 0xC000, SafetensorsWriter.toBf16(Float.floatToIntBits(-2.0f)));
        assertEquals((short) 0x7F80, SafetensorsWriter.toBf16(Float.floatToIntBits(Float.POSITIVE_INFINITY)));
        assertEquals((short) 0x7F80, SafetensorsWriter.toBf16(Float.floatToIntBits(Float.MAX_VALUE)));
        short nan = SafetensorsWriter.toBf16(Float.floatToIntBits(Float.NaN));
        assertTrue(Float.isNaN(Float.intBitsToFloat(nan << 16)));
        // a NaN whose payload lives only in the low bits must not turn into infinity
        short lowPayloadNan = SafetensorsWriter.toBf16(0x7F800001);
        assertTrue(Float.isNaN(Float.intBitsToFloat(lowPayloadNan << 16)));
    }

    @Test
    void blockwiseWriteIsByteIdentical() throws IOException {
        try (NDManager manager = newManager()) {
            NDArray big = manager.arange(0f, 70f).reshape(10, 7).div(8f);
            NDArray threeD = manager.arange(0f, 24f).reshape(4, 3, 2);
            Map<String, NDArray> tensors = new LinkedHashMap<>(Map.of("big", big));
            tensors.put("cube", threeD);
            tensors.put("scalar", manager.create(2.5f));
            Path whole = tmp.resolve("whole.safetensors");
            SafetensorsWriter.write(whole, tensors, Map.of(), DataType.BFLOAT16);
            int arraysBefore = manager.getManagedArrays().size();
            for (long block : new long[] {1, 14, 15, 28, 100}) {
                Path blocks = tmp.resolve("blocks-" + block + ".safetensors");
                SafetensorsWriter.write(blocks, tensors, Map.of(), DataType.BFLOAT16, block);
                assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(blocks), "block " + block);
            }
            assertEquals(arraysBefore, manager.getManagedArrays().size(), "blockwise writes leaked arrays");
        }
    }

    @Test
    void rewritingTheFixtureReproducesItByteForByte() throws IOException {
        Path original = stories260K().resolve("model.safetensors");
        Path copy = tmp.resolve("model.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(original);
                NDManager manager = newManager()) {
            LinkedHashMap<String, NDArray> tensors = new LinkedHashMap<>();
            for (String name : file.names()) {
                tensors.put(name, file.read(manager, name, DataType.FLOAT32));
            }
            SafetensorsWriter.write(copy, tensors, Map.of());
        }
        // Hugging Face writes the same compact header, padding and order
        assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(copy));
    }

    @Test
    void failedWriteLeavesTheTargetAndNoTemporaryFile() throws IOException {
        try (NDManager manager = newManager()) {
            Path path = tmp.resolve("model.safetensors");
            SafetensorsWriter.write(path, Map.of("w", manager.create(new float[] {1f, 2f})), Map.of());
            byte[] before = Files.readAllBytes(path);

            NDArray closed = manager.create(new float[] {3f});
            closed.close();
            Map<String, NDArray> withClosed = new LinkedHashMap<>();
            withClosed.put("ok", manager.create(new float[] {4f}));
            withClosed.put("gone", closed);
            assertMentions(
                    assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(path, withClosed, Map.of())),
                    "'gone'", "closed");
            assertMentions(
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> SafetensorsWriter.write(path, Map.of("w", manager.create(1f)), Map.of("format", "tf"))),
                    "format", "'tf'");
            assertMentions(
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> SafetensorsWriter.write(path, Map.of("__metadata__", manager.create(1f)), Map.of())),
                    "__metadata__");

            assertArrayEquals(before, Files.readAllBytes(path));
            try (Stream<Path> files = Files.list(tmp)) {
                assertEquals(List.of(path), files.toList(), "no temporary file may remain");
            }
        }
    }
}
