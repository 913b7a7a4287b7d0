package org.lethe.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.TestSpark;

/** Raw corpora to documents and rejects, every input row accounted for with its file and line. */
class RawDocumentsTest {

    @RegisterExtension static final TestSpark SPARK = new TestSpark();

    private static SparkSession spark;

    @TempDir Path dir;

    @BeforeAll
    static void start() {
        spark = SPARK.session();
    }

    private static String qualified(Path file) throws IOException {
        return FileSystem.getLocal(new Configuration())
                .makeQualified(new org.apache.hadoop.fs.Path(file.toString())).toString();
    }

    private static void write(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
    }

    private static void write(Path file, String text) throws IOException {
        write(file, text.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void jsonlLinesBecomeDocumentsOrRejectsWithFileAndLine() throws IOException {
        Path news = dir.resolve("news");
        Path a = news.resolve("a.jsonl");
        write(a, concat(utf8("""
                {"id": "n1", "text": "First story. It is short."}
                {"id": "n2", "text": ""}
                {"id": "n3", "text": "broken"
                   \t
                {"id": "n5"}
                {"id": "n6", "text": 42}
                [1, 2]
                {"text": "No id here."}
                {"id": 9, "text": "Numeric id.\\nTwo lines."}
                {"id": "n10", "text": "x"} trailing
                {"id": "n11", "text": "\u00ff"}
                """), new byte[] {'{', '"', 'i', 'd', '"', ':', '"', (byte) 0xC3, '"', '}', '\r', '\n'},
                utf8("{\"id\": \"n13\", \"text\": \"Last, no newline.\"}")));
        Path b = news.resolve("sub/b.jsonl.gz");
        Files.createDirectories(b.getParent());
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(b))) {
            out.write(utf8("\uFEFF{\"id\": \"g1\", \"text\": \"Compressed.\"}\r\n"));
        }
        write(news.resolve("README.md"), "not a corpus file");
        write(news.resolve("_SUCCESS"), "");
        write(news.resolve(".hidden.jsonl"), "{\"id\": \"h\", \"text\": \"hidden\"}");

        RawDocuments reader = RawDocuments.builder().setFormat(RawDocuments.Format.JSONL).optIdField("id").build();
        RawDocuments.Result result = reader.read(spark, news.toString());
        String fa = qualified(a);
        String fb = qualified(b);
        assertEquals(TextSchemas.DOCUMENTS.simpleString(), result.documents().schema().simpleString());
        assertEquals(List.of(
                List.of("9", fa, 9L, "Numeric id.\nTwo lines."),
                List.of("g1", fb, 1L, "Compressed."),
                List.of("n1", fa, 1L, "First story. It is short."),
                List.of("n11", fa, 11L, "\u00ff"),
                List.of("n13", fa, 13L, "Last, no newline.")),
                TestSpark.rows(result.documents(), "doc_id"));
        assertEquals(TextSchemas.REJECTS.simpleString(), result.rejects().schema().simpleString());
        List<List<Object>> rejects = TestSpark.rows(
                result.rejects().select("doc_id", "source_file", "line", "reason", "detail"), "doc_id");
        assertEquals(List.of(
                List.of("a.jsonl:10", fa, 10L, "invalid_json"),
                List.of("a.jsonl:12", fa, 12L, "invalid_utf8"),
                List.of("a.jsonl:3", fa, 3L, "invalid_json"),
                List.of("a.jsonl:7", fa, 7L, "not_an_object"),
                List.of("a.jsonl:8", fa, 8L, "missing_id"),
                List.of("n2", fa, 2L, "empty_text"),
                List.of("n5", fa, 5L, "missing_text"),
                List.of("n6", fa, 6L, "text_not_string")),
                rejects.stream().map(r -> r.subList(0, 4)).toList());
        List<String> details = rejects.stream().map(r -> (String) r.get(4)).toList();
        // Jackson's own words, with the column where parsing stopped.
        assertTrue(details.get(0).startsWith("Unrecognized token 'trailing'"), details.get(0));
        assertTrue(details.get(0).endsWith(" at column 36"), details.get(0));
        assertTrue(details.get(2).startsWith("Unexpected end-of-input: expected close marker for Object"), details.get(2));
        assertEquals(List.of("not valid UTF-8 at byte 7",
                "expected a JSON object, got an array",
                "field 'id' is absent, expected a non-empty string or a number",
                "field 'text' is empty or only whitespace",
                "field 'text' is absent",
                "field 'text' is a number, expected a string"),
                List.of(details.get(1), details.get(3), details.get(4), details.get(5), details.get(6), details.get(7)));
        assertEquals("[1, 2]", TestSpark.rows(result.rejects().filter("line = 7").select("raw_text")).get(0).get(0));
        // Every non-blank line is one document or one reject (line 4 is blank).
        long lines = 12 + 1;
        assertEquals(lines, result.documents().count() + result.rejects().count());
    }

    @Test
    void withoutAnIdFieldTheIdIsFileAndLine() throws IOException {
        Path file = dir.resolve("c.jsonl");
        write(file, "{\"body\": \"One.\"}\n\n{\"body\": \"Three.\"}\n");
        RawDocuments.Result result = RawDocuments.builder().setFormat(RawDocuments.Format.JSONL)
                .optTextField("body").build().read(spark, file.toString());
        assertEquals(List.of(List.of("c.jsonl:1", 1L, "One."), List.of("c.jsonl:3", 3L, "Three.")),
                TestSpark.rows(result.documents().select("doc_id", "line", "text")));
        assertEquals(0, result.rejects().count());
    }

    @Test
    void textFilesAreOneDocumentEach() throws IOException {
        Path books = dir.resolve("books");
        write(books.resolve("b1.txt"), "Chapter one.\nIt begins.\n");
        write(books.resolve("sub/b2.txt"), "\uFEFFSecond book.");
        write(books.resolve("empty.txt"), " \n");
        write(books.resolve("bad.txt"), new byte[] {'o', 'k', ' ', (byte) 0xFF, 'x'});
        write(books.resolve("notes.md"), "ignored");
        write(books.resolve("_draft.txt"), "ignored");

        RawDocuments reader = RawDocuments.builder().setFormat(RawDocuments.Format.TEXT).build();
        RawDocuments.Result result = reader.read(spark, books.toString());
        assertEquals(List.of(
                List.of("b1.txt", qualified(books.resolve("b1.txt")), 0L, "Chapter one.\nIt begins.\n"),
                List.of("sub/b2.txt", qualified(books.resolve("sub/b2.txt")), 0L, "Second book.")),
                TestSpark.rows(result.documents(), "doc_id"));
        assertEquals(List.of(
                Arrays.asList("bad.txt", 0L, "invalid_utf8", "not valid UTF-8 at byte 3", "ok \uFFFDx"),
                Arrays.asList("empty.txt", 0L, "empty_text", "the file is empty or only whitespace", " \n")),
                TestSpark.rows(result.rejects().select("doc_id", "line", "reason", "detail", "raw_text"), "doc_id"));

        // A glob reads exactly its matches, relative to its fixed leading directory.
        List<Object> globbed = new ArrayList<>();
        for (List<Object> row : TestSpark.rows(reader.read(spark, books + "/*/*.txt").documents().select("doc_id"))) {
            globbed.add(row.get(0));
        }
        assertEquals(List.of("sub/b2.txt"), globbed);
    }

    @Test
    void anInputWithoutFilesIsAnErrorNamingIt() throws IOException {
        RawDocuments reader = RawDocuments.builder().setFormat(RawDocuments.Format.TEXT).build();
        Path missing = dir.resolve("missing");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> reader.read(spark, missing.toString()));
        assertEquals(missing + ": no such file or directory", e.getMessage());
        Files.createDirectories(dir.resolve("only-md"));
        write(dir.resolve("only-md/a.md"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> reader.read(spark, dir.resolve("only-md").toString()));
        assertEquals(dir.resolve("only-md") + ": no input files (expected files ending in .txt, optionally"
                + " compressed, e.g. .gz)", e.getMessage());
    }

    @Test
    void lineReaderSplitsOnNewlinesAndDropsCarriageReturns() throws IOException {
        RawDocuments.LineReader lines = new RawDocuments.LineReader(
                new ByteArrayInputStream(utf8("a\r\n\nb\rc\nlast")));
        List<String> out = new ArrayList<>();
        for (byte[] line = lines.next(); line != null; line = lines.next()) {
            out.add(new String(line, StandardCharsets.UTF_8));
        }
        assertEquals(List.of("a", "", "b\rc", "last"), out);
    }
}
