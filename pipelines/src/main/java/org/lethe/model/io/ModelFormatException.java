package org.lethe.model.io;

/**
 * Thrown when a model file or directory does not have the layout it claims (a corrupt or
 * truncated safetensors file, an index that names a missing shard); the message names the file,
 * the tensor or key, and what was expected.
 */
public class ModelFormatException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong, naming the file and the tensor or key
     */
    public ModelFormatException(String message) {
        super(message);
    }

    /**
     * Creates the exception with the parse error that revealed the problem.
     *
     * @param message what is wrong, naming the file and the tensor or key
     * @param cause the underlying error
     */
    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
