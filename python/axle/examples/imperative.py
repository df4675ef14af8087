"""A tour of imperative NDArray programming (the seed's first example, extended).

    python -m axle.examples.imperative
"""
import axle as mx


def main():
    ctx = mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu()
    a = mx.nd.ones((10,), ctx=ctx)
    b = mx.nd.ones((10,), ctx=ctx)
    c = (a + b) / 10.0          # pushed to the engine; returns at once
    d = b + 1
    print("d =", d.asnumpy())   # asnumpy() waits for the ops d depends on
    print("c =", c.asnumpy())
    m = mx.nd.random.uniform(shape=(2, 3), ctx=ctx)
    print("random (2,3):", m)
    print("transpose:", m.T.shape, " row 1:", m[1].asnumpy())
    mx.nd.save("/tmp/axle_example.params", {"a": a, "m": m})
    print("saved and reloaded:", sorted(mx.nd.load("/tmp/axle_example.params")))
    print("engine memory:", mx.context.memory_stats(ctx))


if __name__ == "__main__":
    main()
