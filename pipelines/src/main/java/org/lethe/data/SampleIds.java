package org.lethe.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Stable sample identity: hex SHA-256 of the UTF-8 question, a 0x00 byte and the UTF-8 answer,
 * so the same pair is one sample in every split and every run (a question alone is not a key:
 * TOFU's full set asks one question twice with different answers).
 */
public final class SampleIds {

    private SampleIds() {}

    public static String of(String question, String answer) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(question.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(answer.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }
}
