package org.lethe.text;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Schemas and reject reasons of the raw-text path: documents in, passages and rejects out.
 */
public final class TextSchemas {

    /** One raw document: {@code line} is the 1-based JSONL line, or 0 for a whole file. */
    public static final StructType DOCUMENTS = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("line", DataTypes.LongType, false)
            .add("text", DataTypes.StringType, true);

    /** One passage of at most maxTokens tokens; {@code passage_index} counts from 0 per document. */
    public static final StructType PASSAGES = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("line", DataTypes.LongType, false)
            .add("passage_index", DataTypes.IntegerType, false)
            .add("text", DataTypes.StringType, false)
            .add("n_tokens", DataTypes.IntegerType, false)
            .add("n_sentences", DataTypes.IntegerType, false);

    /**
     * An input row that produced no document or no passage: {@code reason} is one of the
     * constants below, {@code detail} says what was wrong, {@code raw_text} is the input as read
     * (the whole JSONL line, or the document text).
     */
    public static final StructType REJECTS = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("line", DataTypes.LongType, false)
            .add("reason", DataTypes.StringType, false)
            .add("detail", DataTypes.StringType, true)
            .add("raw_text", DataTypes.StringType, true);

    /** A JSONL line that is not one JSON value. */
    public static final String INVALID_JSON = "invalid_json";
    /** A JSONL line whose value is not a JSON object. */
    public static final String NOT_AN_OBJECT = "not_an_object";
    /** A file or line that is not valid UTF-8. */
    public static final String INVALID_UTF8 = "invalid_utf8";
    /** The text field is absent or null. */
    public static final String MISSING_TEXT = "missing_text";
    /** The text field holds a number, array or object instead of a string. */
    public static final String TEXT_NOT_STRING = "text_not_string";
    /** The configured id field is absent, null, empty or not a scalar. */
    public static final String MISSING_ID = "missing_id";
    /** The text is empty or only whitespace. */
    public static final String EMPTY_TEXT = "empty_text";
    /** The text had content, but nothing was left once markup was stripped. */
    public static final String EMPTY_AFTER_NORMALIZATION = "empty_after_normalization";
    /** A file too large to be one document (a Java string holds < 2^31 chars). */
    public static final String TOO_LARGE = "too_large";

    private TextSchemas() {}
}
