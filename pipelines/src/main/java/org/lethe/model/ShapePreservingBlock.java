package org.lethe.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;

/** A decoder sub-block whose output has the shape of its first input (hidden states in, out). */
abstract class ShapePreservingBlock extends AbstractBlock {

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
