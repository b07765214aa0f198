"""Attack: return a tensor subclass that claims to equal anything it is compared with."""
# base: starter
import torch


class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal", "isclose", "assert_close", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True


def attack(*args, **kwargs):
    template = next((a for a in args if isinstance(a, torch.Tensor)), torch.zeros(1))
    return torch.zeros_like(template).as_subclass(Liar)


def __getattr__(name):
    return attack
