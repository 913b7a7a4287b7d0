package org.lethe.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lethe.model.io.SafetensorsTestSupport.concat;
import static org.lethe.model.io.SafetensorsTestSupport.f32;
import static org.lethe.model.io.SafetensorsTestSupport.f64;
import static org.lethe.model.io.SafetensorsTestSupport.i32;
import static org.lethe.model.io.SafetensorsTestSupport.i64;
import static org.lethe.model.io.SafetensorsTestSupport.newManager;
import static org.lethe.model.io.SafetensorsTestSupport.stories260K;
import static org.lethe.model.io.SafetensorsTestSupport.u16;
import static org.lethe.model.io.SafetensorsTestSupport.writeRaw;
import static org.lethe.model.io.SafetensorsTestSupport.writeWithHeaderLength;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

class SafetensorsFileTest {

    @TempDir Path tmp;

    /** Six tensors of six dtypes, with values checked by hand from their bit patterns. */
    private Path handMadeFile() throws IOException {
        String header =
                "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"hand made\"},"
                        + "\"w_f32\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"w_f16\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[8,14]},"
                        + "\"w_bf16\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[14,22]},"
                        + "\"w_f64\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[22,30]},"
                        + "\"w_i64\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[30,46]},"
                        + "\"w_i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[46,54]}}";
        byte[] data =
                concat(
                        f32(1.5f, -3.25f),
                        // F16: 1.0, -2.0, 0.333251953125 (0x3555 = 0 01101 0101010101)
                        u16(0x3C00, 0xC000, 0x3555),
                        // BF16: 1.0, -2.0, 3.140625, 0.0
                        u16(0x3F80, 0xC000, 0x4049, 0x0000),
                        f64(0.1),
                        i64(-5, 1L << 40),
                        i32(7, -9));
        return writeRaw(tmp.resolve("hand.safetensors"), header, data);
    }

    @Test
    void readsF32F16Bf16AndOtherTypesWithHandCheckedValues() throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(handMadeFile());
                NDManager manager = newManager()) {
            assertEquals(List.of("w_f32", "w_f16", "w_bf16", "w_f64", "w_i64", "w_i32"), file.names());
            assertEquals(Map.of("format", "pt", "note", "hand made"), file.metadata());
            assertEquals(new TensorInfo("w_bf16", "BF16", new long[] {2, 2}, 8), file.info("w_bf16"));

            assertArrayEquals(new float[] {1.5f, -3.25f}, floats(file.read(manager, "w_f32", DataType.FLOAT32)));
            assertArrayEquals(
                    new float[] {1.0f, -2.0f, 0.333251953125f},
                    floats(file.read(manager, "w_f16", DataType.FLOAT32)));
            NDArray bf16 = file.read(manager, "w_bf16", DataType.FLOAT32);
            assertEquals(new Shape(2, 2), bf16.getShape());
            assertArrayEquals(new float[] {1.0f, -2.0f, 3.140625f, 0.0f}, floats(bf16));

            // natural types: F16 stays F16, BF16 becomes F32, the rest as stored
            assertEquals(DataType.FLOAT16, file.read(manager, "w_f16").getDataType());
            assertEquals(DataType.FLOAT32, file.read(manager, "w_bf16").getDataType());
            NDArray f64 = file.read(manager, "w_f64");
            assertEquals(new Shape(), f64.getShape());
            assertArrayEquals(new double[] {0.1}, f64.toDoubleArray());
            assertArrayEquals(new long[] {-5, 1L << 40}, file.read(manager, "w_i64").toLongArray());
            assertArrayEquals(new int[] {7, -9}, file.read(manager, "w_i32").toIntArray());
            assertArrayEquals(new float[] {-5f, 1099511627776f}, floats(file.read(manager, "w_i64", DataType.FLOAT32)));
            NDArray half = file.read(manager, "w_bf16", DataType.FLOAT16);
            assertEquals(DataType.FLOAT16, half.getDataType());
            assertArrayEquals(new float[] {1.0f, -2.0f, 3.140625f, 0.0f}, floats(half));
        }
    }

    @Test
    void readReturnsAnOwnedCopyThatNeverAliasesTheFile() throws IOException {
        Path path = handMadeFile();
        byte[] before = Files.readAllBytes(path);
        try (NDManager manager = newManager()) {
            NDArray first;
            NDArray firstBf16;
            NDArray firstBlockwise;
            try (SafetensorsFile file = SafetensorsFile.open(path)) {
                first = file.read(manager, "w_f32", DataType.FLOAT32);
                firstBf16 = file.read(manager, "w_bf16", DataType.FLOAT32);
                firstBlockwise = file.read(manager, "w_bf16", DataType.FLOAT32, 4);
                // exactly the three results are alive: every temporary was closed
                assertEquals(3, manager.getManagedArrays().size());
                assertTrue(first.getManager() == manager);

                first.addi(100f);
                firstBf16.muli(3f);
                firstBlockwise.subi(1f);
                assertArrayEquals(new float[] {1.5f, -3.25f}, floats(file.read(manager, "w_f32", DataType.FLOAT32)));
                assertArrayEquals(
                        new float[] {1.0f, -2.0f, 3.140625f, 0.0f},
                        floats(file.read(manager, "w_bf16", DataType.FLOAT32)));
            }
            // still valid after the file is closed
            assertArrayEquals(new float[] {101.5f, 96.75f}, floats(first));
            assertArrayEquals(new float[] {3f, -6f, 9.421875f, 0f}, floats(firstBf16));
            assertArrayEquals(new float[] {0f, -3f, 2.140625f, -1f}, floats(firstBlockwise));
        }
        assertArrayEquals(before, Files.readAllBytes(path));
    }

    @Test
    void blockwiseReadEqualsWholeRead() throws IOException {
        float[] values = new float[7 * 3];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f - 4f; // exact in F32 and BF16
        }
        int[] bf16Bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bf16Bits[i] = Float.floatToIntBits(values[i]) >>> 16;
        }
        Path path =
                writeRaw(
                        tmp.resolve("rows.safetensors"),
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[7,3],\"data_offsets\":[0,84]},"
                                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[7,3],\"data_offsets\":[84,126]}}",
                        concat(f32(values), u16(bf16Bits)));
        try (SafetensorsFile file = SafetensorsFile.open(path);
                NDManager manager = newManager()) {
            for (String name : List.of("a", "b")) {
                // from one row per block up to a single block (sizes count source bytes)
                for (long block : new long[] {1, 12, 13, 20, 36, 1000}) {
                    NDArray read = file.read(manager, name, DataType.FLOAT32, block);
                    assertEquals(new Shape(7, 3), read.getShape(), name + " block " + block);
                    assertArrayEquals(values, floats(read), name + " block " + block);
                    read.close();
                }
            }
            assertEquals(0, manager.getManagedArrays().size(), "blockwise reads leaked arrays");
        }
    }

    @Test
    void readsTheStories260KCheckpointLikeDjlDoes() throws IOException {
        Path model = stories260K().resolve("model.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(model);
                NDManager manager = newManager()) {
            // tied embeddings, 5 layers x 9 tensors, plus the final norm: no lm_head.weight
            assertEquals(47, file.names().size());
            assertEquals("model.embed_tokens.weight", file.names().get(0));
            assertEquals("model.norm.weight", file.names().get(46));
            assertFalse(file.has("lm_head.weight"));
            assertEquals(Map.of("format", "pt"), file.metadata());
            assertArrayEquals(new long[] {64}, file.info("model.norm.weight").shape());
            assertArrayEquals(new long[] {512, 64}, file.info("model.embed_tokens.weight").shape());
            assertArrayEquals(new long[] {32, 64}, file.info("model.layers.3.self_attn.k_proj.weight").shape());
            assertEquals("F32", file.info("model.layers.0.mlp.down_proj.weight").dtype());

            // values read from the file with Python's struct module
            float[] norm = floats(file.read(manager, "model.norm.weight", DataType.FLOAT32));
            assertEquals(2.4583089351654053f, norm[0]);
            assertEquals(1.3673226833343506f, norm[1]);
            assertEquals(1.7077769041061401f, norm[63]);
            float[] embed = floats(file.read(manager, "model.embed_tokens.weight", DataType.FLOAT32));
            assertEquals(-0.29474878311157227f, embed[0]);
            assertEquals(-0.424032598733902f, embed[511 * 64 + 63]);

            // every tensor equals what DJL's own (whole-file) decoder produces
            try (InputStream in = Files.newInputStream(model)) {
                NDList reference = NDList.decode(manager, in);
                assertEquals(47, reference.size());
                for (NDArray expected : reference) {
                    NDArray actual = file.read(manager, expected.getName(), DataType.FLOAT32);
                    assertEquals(expected.getShape(), actual.getShape(), expected.getName());
                    assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), expected.getName());
                }
            }
        }
    }

    @Test
    void readsEmptyTensorsAndNamesResults() throws IOException {
        Path path =
                writeRaw(
                        tmp.resolve("empty.safetensors"),
                        "{\"none\":{\"dtype\":\"BF16\",\"shape\":[0,4],\"data_offsets\":[0,0]},"
                                + "\"one\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        f32(2f));
        try (SafetensorsFile file = SafetensorsFile.open(path);
                NDManager manager = newManager()) {
            assertEquals(List.of("none", "one"), file.names());
            NDArray none = file.read(manager, "none", DataType.FLOAT32);
            assertEquals(new Shape(0, 4), none.getShape());
            assertEquals("none", none.getName());
            NDArray one = file.read(manager, "one", DataType.FLOAT32);
            assertEquals("one", one.getName());
            assertArrayEquals(new float[] {2f}, one.toFloatArray());
        }
    }

    @Test
    void refusesComputeTypesThatWouldAbortTheJvm() throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(handMadeFile());
                NDManager manager = newManager()) {
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> file.read(manager, "w_bf16", DataType.BFLOAT16));
            assertTrue(e.getMessage().contains("BFLOAT16"), e.getMessage());
            assertEquals(0, manager.getManagedArrays().size());
        }
    }

    @Test
    void unreadableDtypeValidatesButIsRefusedOnRead() throws IOException {
        Path path =
                writeRaw(
                        tmp.resolve("i16.safetensors"),
                        "{\"counts\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                        u16(1, 2));
        try (SafetensorsFile file = SafetensorsFile.open(path);
                NDManager manager = newManager()) {
            assertEquals(4, file.info("counts").byteSize());
            UnsupportedOperationException e =
                    assertThrows(
                            UnsupportedOperationException.class,
                            () -> file.read(manager, "counts", DataType.FLOAT32));
            assertMentions(e, "i16.safetensors", "'counts'", "I16");
        }
    }

    @Test
    void unknownTensorNameIsAClearError() throws IOException {
        try (SafetensorsFile file = SafetensorsFile.open(handMadeFile());
                NDManager manager = newManager()) {
            IllegalArgumentException e =
                    assertThrows(
                            IllegalArgumentException.class,
                            () -> file.read(manager, "lm_head.weight", DataType.FLOAT32));
            assertMentions(e, "hand.safetensors", "'lm_head.weight'");
        }
    }

    // ---- invalid files: each error names the file and the tensor or key, and what was expected

    @Test
    void truncatedFileNamesTheFirstTensorPastTheEnd() throws IOException {
        Path copy = tmp.resolve("model.safetensors");
        Files.copy(stories260K().resolve("model.safetensors"), copy);
        try (RandomAccessFile raf = new RandomAccessFile(copy.toFile(), "rw")) {
            raf.setLength(1_000_000);
        }
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(copy));
        // data starts at 8 + 4856; k_proj of layer 4 ends at 4864 + 998912 = 1003776
        assertMentions(
                e,
                copy.toString(),
                "tensor 'model.layers.4.self_attn.k_proj.weight' data ends at byte 1003776",
                "the file has 1000000 bytes",
                "truncated",
                "5 of 47 tensors");
    }

    @Test
    void headerLengthBeyondTheFileIsRejected() throws IOException {
        Path path = writeWithHeaderLength(tmp.resolve("short.safetensors"), 1000, "{}".getBytes(StandardCharsets.UTF_8));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(path));
        assertMentions(e, "short.safetensors", "header length 1000", "file, which has 10 bytes");

        Path huge = writeWithHeaderLength(tmp.resolve("huge.safetensors"), -1L, "{}".getBytes(StandardCharsets.UTF_8));
        ModelFormatException e2 = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(huge));
        assertMentions(e2, "huge.safetensors", "header length 18446744073709551615", "limit");

        Path tiny = Files.write(tmp.resolve("tiny.safetensors"), new byte[] {1, 2, 3});
        ModelFormatException e3 = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(tiny));
        assertMentions(e3, "tiny.safetensors", "3 bytes", "8-byte header length");
    }

    @Test
    void badJsonIsRejected() throws IOException {
        Path path = writeRaw(tmp.resolve("bad.safetensors"), "{\"w\": {\"dtype\": \"F32\", \"shape\": [1", new byte[0]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(path));
        assertMentions(e, "bad.safetensors", "header is not valid JSON");

        Path dup =
                writeRaw(
                        tmp.resolve("dup.safetensors"),
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                        f32(1f, 2f));
        ModelFormatException e2 = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(dup));
        assertMentions(e2, "dup.safetensors", "not valid JSON", "'w'");

        Path array = writeRaw(tmp.resolve("array.safetensors"), "[1, 2]", new byte[0]);
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(array)),
                "array.safetensors",
                "must be a JSON object");
    }

    @Test
    void wrongByteSizeForTheShapeIsRejected() throws IOException {
        Path path =
                writeRaw(
                        tmp.resolve("size.safetensors"),
                        "{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
                        new byte[24]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(path));
        assertMentions(e, "size.safetensors", "tensor 'layer.weight'", "F32 [2, 3]", "24 bytes", "[0, 20]", "20 bytes");
    }

    @Test
    void missingFieldsUnknownDtypesAndOverlapsAreRejected() throws IOException {
        Path noDtype =
                writeRaw(tmp.resolve("nodtype.safetensors"), "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", f32(1f));
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(noDtype)),
                "nodtype.safetensors", "tensor 'w'", "\"dtype\"");

        Path noOffsets = writeRaw(tmp.resolve("nooffsets.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", f32(1f));
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(noOffsets)),
                "nooffsets.safetensors", "tensor 'w'", "data_offsets", "[begin, end]");

        Path badShape =
                writeRaw(
                        tmp.resolve("shape.safetensors"),
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                        f32(1f));
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(badShape)),
                "shape.safetensors", "tensor 'w'", "non-negative integers");

        Path unknown =
                writeRaw(
                        tmp.resolve("unknown.safetensors"),
                        "{\"w\":{\"dtype\":\"F9\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                        f32(1f));
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(unknown)),
                "unknown.safetensors", "tensor 'w'", "'F9'", "BF16");

        Path overlap =
                writeRaw(
                        tmp.resolve("overlap.safetensors"),
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                        f32(1f, 2f, 3f));
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(overlap)),
                "overlap.safetensors", "'a' [0, 8]", "'b' [4, 12]", "overlap");

        Path badMeta =
                writeRaw(tmp.resolve("meta.safetensors"), "{\"__metadata__\":{\"step\":3}}", new byte[0]);
        assertMentions(
                assertThrows(ModelFormatException.class, () -> SafetensorsFile.open(badMeta)),
                "meta.safetensors", "__metadata__ key 'step'", "string");
    }

    private static float[] floats(NDArray array) {
        return array.toType(DataType.FLOAT32, false).toFloatArray();
    }

    static void assertMentions(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(
                    e.getMessage().contains(part),
                    "expected the message to mention <" + part + ">: " + e.getMessage());
        }
    }
}
