import { IdleTimer } from './idle-timer';

describe('IdleTimer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('fires once after the timeout without traffic, with the limit in seconds', () => {
    const idle = jest.fn();
    new IdleTimer(1500, () => false, idle);
    jest.advanceTimersByTime(1499);
    expect(idle).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(idle).toHaveBeenCalledWith(1.5);
    jest.advanceTimersByTime(10_000);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it('counts from the last touch', () => {
    const idle = jest.fn();
    const timer = new IdleTimer(1000, () => false, idle);
    jest.advanceTimersByTime(900);
    timer.touch();
    jest.advanceTimersByTime(900);
    expect(idle).not.toHaveBeenCalled();
    jest.advanceTimersByTime(100);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it('does not fire while the session is busy, however long', () => {
    const idle = jest.fn();
    let busy = true;
    new IdleTimer(1000, () => busy, idle);
    jest.advanceTimersByTime(5000);
    expect(idle).not.toHaveBeenCalled();
    busy = false;
    jest.advanceTimersByTime(1000);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it('never fires once stopped, or with a timeout of 0', () => {
    const idle = jest.fn();
    new IdleTimer(1000, () => false, idle).stop();
    new IdleTimer(0, () => false, idle);
    jest.advanceTimersByTime(10_000);
    expect(idle).not.toHaveBeenCalled();
  });
});
