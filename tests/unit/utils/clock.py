"""A clock the tests move by hand: clock() reads it, clock.sleep(s) advances it and records s."""


class Clock:
    def __init__(self, now=0.0):
        self.now = now
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
