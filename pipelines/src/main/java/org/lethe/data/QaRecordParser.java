package org.lethe.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one raw JSON record (a JSONL line or a JSON array element) into a {@link
 * IngestSchemas#PARSED} row: the question/answer fields and their variants, or a reject reason.
 * Understands TOFU's field names, including {@code option1..4} (the non-answers are the perturbed
 * answers) and {@code perturbed_answer} lists.
 */
public final class QaRecordParser implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String questionField;
    private final String answerField;

    public QaRecordParser(String questionField, String answerField) {
        this.questionField = questionField;
        this.answerField = answerField;
    }

    /** TOFU's own field names. */
    public static QaRecordParser tofu() {
        return new QaRecordParser("question", "answer");
    }

    /** Parses raw bytes (strict UTF-8) from {@code file} at 1-based {@code line} of {@code split}. */
    public Row parse(byte[] raw, String file, long line, String split) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            return reject(file, line, split, "invalid_utf8", new String(raw, StandardCharsets.UTF_8));
        }
        return parse(text, file, line, split);
    }

    /** Parses one JSON text; see {@link #parse(byte[], String, long, String)}. */
    public Row parse(String text, String file, long line, String split) {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return reject(file, line, split, "invalid_json", text);
        }
        if (node == null || !node.isObject()) {
            return reject(file, line, split, "invalid_json", text);
        }
        return fromObject(node, text, file, line, split);
    }

    /** A parsed JSON object; {@code raw} is kept for rejects. */
    public Row fromObject(JsonNode node, String raw, String file, long line, String split) {
        String problem = checkText(node, questionField);
        if (problem == null) {
            problem = checkText(node, answerField);
        }
        if (problem != null) {
            return reject(file, line, split, problem, raw);
        }
        String question = node.get(questionField).asText();
        String answer = node.get(answerField).asText();
        List<String> perturbed = new ArrayList<>();
        JsonNode list = node.get("perturbed_answer");
        if (list != null && list.isArray()) {
            for (JsonNode p : list) {
                if (!p.isTextual()) {
                    return reject(file, line, split, "invalid_field:perturbed_answer", raw);
                }
                perturbed.add(p.asText());
            }
        } else if (list != null && list.isTextual()) {
            perturbed.add(list.asText());
        }
        for (int i = 1; node.has("option" + i); i++) {
            String option = node.get("option" + i).asText();
            if (!option.equals(answer) && !perturbed.contains(option)) {
                perturbed.add(option);
            }
        }
        return RowFactory.create(file, line, split, null, raw, question, answer,
                optText(node, "paraphrased_answer"), perturbed.isEmpty() ? null : perturbed.toArray(new String[0]),
                optText(node, "paraphrased_question"), null);
    }

    private static String checkText(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return "missing_field:" + field;
        }
        if (!v.isTextual() && !v.isNumber()) {
            return "invalid_field:" + field;
        }
        if (v.asText().isBlank()) {
            return "empty_field:" + field;
        }
        return null;
    }

    private static String optText(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() || v.asText().isBlank() ? null : v.asText();
    }

    /** A reject row in the {@link IngestSchemas#PARSED} layout. */
    public static Row reject(String file, long line, String split, String reason, String raw) {
        return RowFactory.create(file, line, split, reason, raw, null, null, null, null, null, null);
    }
}
